/**
 * Round trips the vendored postgres.js saves (VENDORED.md), observed on the wire through a
 * counting TCP proxy (test/support/protocol_tally.ts), never by timing:
 * - the describe cache: with `prepare: false`, a query with parameters is described
 *   (Parse/Describe/Flush, a round trip of its own) only on its first run on a connection;
 *   later runs send one unnamed Parse/Bind/Execute/Sync with the described types, so they also
 *   pipeline. Checked for results, typed parameters, errors and a schema change.
 * - the pipelined BEGIN: a transaction's first statement is sent before BEGIN's answer.
 * - the pipelined COMMIT: `tx.commit()` sends COMMIT behind the last statements, before their
 *   answers; an error before it still rolls everything back.
 * - idle connections reused last in, first out: requests one after another stay on one backend.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { freshDatabase, type TestDatabase } from "../support/db.ts";
import { startTallyProxy, type TallyProxy } from "../support/protocol_tally.ts";

async function withProxiedPool(
  db: TestDatabase,
  fn: (sql: postgres.Sql, proxy: TallyProxy) => Promise<void>,
) {
  const target = new URL(db.url);
  const proxy = startTallyProxy(target.hostname, Number(target.port));
  const url = new URL(db.url);
  url.hostname = "127.0.0.1";
  url.port = String(proxy.port);
  const sql = postgres(url.href, { max: 1, prepare: false, onnotice: () => {} });
  try {
    await sql`select 1`; // connected; startup and auth are not counted below
    proxy.tally.reset();
    await fn(sql, proxy);
  } finally {
    await sql.end({ timeout: 5 });
    await proxy.close();
  }
}

Deno.test("driver round trips: describe cache and pipelined BEGIN", async (t) => {
  const db = await freshDatabase({ max: 1 });
  try {
    await withProxiedPool(db, async (sql, proxy) => {
      const tally = proxy.tally;
      await t.step("repeated runs describe once", async () => {
        for (let i = 0; i < 5; i++) {
          const [row] = await sql`select ${i}::int + 1 as n, ${"t" + i}::text as s`;
          assert.deepEqual(row, { n: i + 1, s: "t" + i });
        }
        assert.equal(tally.count("H"), 1, "one Flush: the first run's describe");
        assert.equal(tally.count("P"), 5, "every run parses its unnamed statement");
        assert.equal(tally.count("S"), 5, "one Sync per run");
      });

      await t.step("typed parameters serialize as described", async () => {
        tally.reset();
        for (let i = 0; i < 3; i++) {
          const [row] = await sql`
            select ${[1, 2, i]}::int[] as arr, ${new Date(0)}::timestamptz as at,
              ${null}::text as nothing, ${sql.json({ z: [i] })} as doc, ${i % 2 === 0} as even
          `;
          assert.deepEqual(row.arr, [1, 2, i]);
          assert.equal((row.at as Date).getTime(), 0);
          assert.equal(row.nothing, null);
          assert.deepEqual(row.doc, { z: [i] });
          assert.equal(row.even, i % 2 === 0);
        }
        assert.equal(tally.count("H"), 1);
      });

      await t.step("queries in a transaction pipeline once described", async () => {
        const run = () =>
          sql.begin((tx) => [
            tx`select ${1}::int as a`,
            tx`select ${2}::int as b`,
            tx`select ${3}::int as c`,
          ]);
        await run();
        tally.reset();
        // BEGIN and the three queries are all sent before any answer comes back.
        const held = proxy.holdReplies(4, 5_000);
        const results = await run();
        assert.equal(await held, "sent");
        assert.deepEqual(results.map((r) => Object.values(r[0])[0]), [1, 2, 3]);
        assert.equal(tally.count("H"), 0, "nothing described again");
      });

      await t.step("a transaction's first statement is pipelined behind BEGIN", async () => {
        const first = (tx: postgres.TransactionSql) => tx`select ${"first"}::text as v`;
        await sql.begin(first);
        const held = proxy.holdReplies(2, 5_000);
        const [row] = await sql.begin(first);
        assert.equal(await held, "sent", "the statement went out before BEGIN was answered");
        assert.equal(row.v, "first");
      });

      await t.step("a failing transaction still rolls back everything", async () => {
        await sql`create table wisely_rt (x int)`;
        await assert.rejects(() =>
          sql.begin(async (tx) => {
            await tx`insert into wisely_rt values (${1})`;
            await tx`select 1 / ${0}::int`;
          }), postgres.PostgresError);
        assert.equal((await sql`select count(*)::int as n from wisely_rt`)[0].n, 0);
        await sql`drop table wisely_rt`;
      });

      await t.step("commit() is sent with the last statements, before their answers", async () => {
        await sql`create table wisely_rt (x int)`;
        const run = (x: number) =>
          sql.begin(async (tx) => {
            const inserted = tx`insert into wisely_rt values (${x}) returning x`.execute();
            const counted = tx`select count(*)::int as n from wisely_rt`.execute();
            await tx.commit();
            return [(await inserted)[0].x, (await counted)[0].n];
          });
        assert.deepEqual(await run(1), [1, 1]);
        tally.reset();
        // BEGIN, the insert, the count and COMMIT, all before any answer.
        const held = proxy.holdReplies(4, 5_000);
        assert.deepEqual(await run(2), [2, 2]);
        assert.equal(await held, "sent");
        assert.equal(tally.count("Q") + tally.count("S"), 4, "four batches, nothing after COMMIT");
        assert.equal((await sql`select count(*)::int as n from wisely_rt`)[0].n, 2, "committed");
      });

      await t.step("an error before commit() rolls everything back", async () => {
        await assert.rejects(
          () =>
            sql.begin(async (tx) => {
              const inserted = tx`insert into wisely_rt values (${3})`.execute();
              const failed = tx`select 1 / ${0}::int`.execute();
              await tx.commit();
              await Promise.all([inserted, failed]);
            }),
          (error: unknown) => error instanceof postgres.PostgresError && error.code === "22012",
        );
        assert.equal((await sql`select count(*)::int as n from wisely_rt`)[0].n, 2);
      });

      await t.step("a statement after commit() is refused", async () => {
        await assert.rejects(
          () =>
            sql.begin(async (tx) => {
              await tx`insert into wisely_rt values (${4})`;
              await tx.commit();
              await tx`insert into wisely_rt values (${5})`;
            }),
          (error: unknown) => (error as { code?: unknown }).code === "UNSAFE_TRANSACTION",
        );
        const rows = await sql`select x from wisely_rt order by x`;
        assert.deepEqual(rows.map((r) => r.x), [1, 2, 4], "4 committed, 5 never sent");
        await sql`drop table wisely_rt`;
      });

      await t.step("an error drops the entry, the next run describes again", async () => {
        await sql`select ${"7"}::int as v`;
        tally.reset();
        await assert.rejects(
          async () => await sql`select ${"x"}::int as v`,
          postgres.PostgresError,
        );
        const [row] = await sql`select ${"8"}::int as v`;
        assert.equal(row.v, 8);
        assert.equal(tally.count("H"), 1, "described again after the error");
      });

      await t.step("a changed schema is described again after one error", async () => {
        await sql`create function wisely_dc(x int) returns int language sql as 'select x + 1'`;
        assert.equal((await sql`select wisely_dc(${1}) as v`)[0].v, 2);
        await sql`drop function wisely_dc(int)`;
        await sql`create function wisely_dc(x text) returns text language sql as 'select x'`;
        const first = await sql`select wisely_dc(${"a"}) as v`.then(
          (rows) => rows[0].v,
          (error: unknown) => error,
        );
        // The stale int4 type fails once (42883) and is forgotten; no wrong answer is given.
        assert.ok(first === "a" || first instanceof postgres.PostgresError);
        assert.equal((await sql`select wisely_dc(${"b"}) as v`)[0].v, "b");
        await sql`drop function wisely_dc(text)`;
      });
    });
  } finally {
    await db.close();
  }
});

Deno.test("driver: the idle connection used last is used next (LIFO)", async () => {
  const db = await freshDatabase({ max: 1 });
  const sql = postgres(db.url, { max: 3, prepare: false, onnotice: () => {} });
  try {
    // Three at once: the pool opens all three connections.
    const opened = await Promise.all(
      [0, 1, 2].map(() => sql`select pg_backend_pid() as pid, pg_sleep(0.05)`),
    );
    assert.equal(new Set(opened.map(([row]) => row.pid)).size, 3);
    // One after another: each finds all three idle and takes the one it returned last.
    const pids = [];
    for (let i = 0; i < 6; i++) pids.push((await sql`select pg_backend_pid() as pid`)[0].pid);
    assert.equal(new Set(pids).size, 1, `one backend, not a round robin: ${pids.join(", ")}`);
    const [inTx] = await sql.begin((tx) => [tx`select pg_backend_pid() as pid`]);
    assert.equal(inTx[0].pid, pids[0], "a transaction takes it too");
  } finally {
    await sql.end({ timeout: 5 });
    await db.close();
  }
});

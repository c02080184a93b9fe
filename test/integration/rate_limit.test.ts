/**
 * Rate limits (spec 9) on a real database: the token-bucket SQL itself (atomic takes, refill,
 * settings, isolation, grants), then over HTTP against the served stack (429 with Retry-After,
 * drain and refill, per-user buckets, runtime tuning, what is and is not limited, concurrency).
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { beginRequest } from "../../supabase/functions/_shared/http/rate_limit.ts";
import { asRole, createUser, freshDatabase } from "../support/db.ts";
import { startTestStack, testBackends } from "../support/stack.ts";

type Stack = Awaited<ReturnType<typeof startTestStack>>;

const claimsOf = (user: string) => JSON.stringify({ sub: user, role: "authenticated" });

async function setRate(
  sql: postgres.Sql,
  bucket: "day_run" | "default",
  burst: number,
  refillPerS: number,
) {
  await sql`
    update wisely.settings set value = ${sql.json({ burst, refill_per_s: refillPerS })}
    where key = ${"rate." + bucket}
  `;
}

async function bucketRow(sql: postgres.Sql, user: string, bucket: string) {
  const [row] = await sql<{ tokens: number; updated_at: Date }[]>`
    select tokens, updated_at from wisely.rate_limits where user_id = ${user} and bucket = ${bucket}
  `;
  return row ?? null;
}

/** Moves a bucket's last update into the past, as if `seconds` had gone by. */
async function age(sql: postgres.Sql, user: string, bucket: string, seconds: number) {
  await sql`
    update wisely.rate_limits set updated_at = updated_at - make_interval(secs => ${seconds})
    where user_id = ${user} and bucket = ${bucket}
  `;
}

function hasCode(code: string) {
  return (error: unknown) => {
    assert.ok(typeof error === "object" && error !== null && "code" in error, String(error));
    assert.equal(error.code, code, String(error));
    return true;
  };
}

Deno.test("token buckets in SQL: drain, refill, settings, isolation, atomicity, grants", async (t) => {
  const db = await freshDatabase();
  const { sql } = db;
  try {
    const take = (user: string, bucket: "day_run" | "default" = "default") =>
      beginRequest(sql, claimsOf(user), bucket);

    await t.step(
      "the bucket table is unlogged (no WAL flush for a read-only request)",
      async () => {
        const [row] = await sql`
        select relpersistence from pg_class where oid = 'wisely.rate_limits'::regclass
      `;
        assert.equal(row.relpersistence, "u");
      },
    );

    await t.step("a bucket starts full, drains to zero, then refuses", async () => {
      await setRate(sql, "default", 3, 0.5);
      const user = await createUser(sql);
      const started = performance.now();
      assert.deepEqual([await take(user), await take(user), await take(user)], [0, 0, 0]);
      const drained = await bucketRow(sql, user, "default");
      // All that is left is what refilled (0.5/s) while the takes ran: a bound, not a race.
      const elapsedS = (performance.now() - started) / 1000;
      assert.ok(drained.tokens <= 0.5 * elapsedS + 1e-9, `${drained.tokens} after ${elapsedS} s`);
      // One token at 0.5/s is two seconds away.
      assert.equal(await take(user), 2);
    });

    await t.step("a refusal leaves the bucket exactly as it was", async () => {
      await setRate(sql, "default", 2, 0.001);
      const user = await createUser(sql);
      await take(user);
      await take(user);
      const before = await bucketRow(sql, user, "default");
      const wait = await take(user);
      assert.ok(wait >= 999 && wait <= 1000, String(wait));
      assert.deepEqual(await bucketRow(sql, user, "default"), before);
    });

    await t.step("tokens refill with time, never beyond the burst", async () => {
      await setRate(sql, "default", 4, 1);
      const user = await createUser(sql);
      for (let i = 0; i < 4; i++) assert.equal(await take(user), 0);
      assert.ok((await take(user)) >= 1);
      await age(sql, user, "default", 2.5);
      assert.equal(await take(user), 0);
      assert.equal(await take(user), 0);
      assert.equal(await take(user), 1, "0.5 token left: one second to the next");
      await age(sql, user, "default", 3600);
      assert.equal(await take(user), 0);
      const row = await bucketRow(sql, user, "default");
      assert.ok(Math.abs(row.tokens - 3) < 0.01, `capped at burst 4, minus one: ${row.tokens}`);
    });

    await t.step(
      "settings apply to the next take; a bad row falls back to the defaults",
      async () => {
        const user = await createUser(sql);
        await setRate(sql, "day_run", 1, 0.001);
        assert.equal(await take(user, "day_run"), 0);
        assert.ok((await take(user, "day_run")) > 1);
        await setRate(sql, "day_run", 5, 0.001);
        // A larger burst lets the bucket fill further, at the refill rate: still empty now.
        assert.ok((await take(user, "day_run")) > 1);
        await age(sql, user, "day_run", 2000);
        assert.equal(await take(user, "day_run"), 0);

        // Malformed: the built-in 10 burst, 1 per 30 s.
        await sql`
        update wisely.settings set value = '{"burst": "lots", "refill_per_s": -1}'
        where key = 'rate.day_run'
      `;
        const fresh = await createUser(sql);
        for (let i = 0; i < 10; i++) assert.equal(await take(fresh, "day_run"), 0, `take ${i}`);
        const wait = await take(fresh, "day_run");
        assert.ok(wait >= 29 && wait <= 30, String(wait));
        await sql`delete from wisely.settings where key = 'rate.day_run'`;
        const other = await createUser(sql);
        for (let i = 0; i < 10; i++) assert.equal(await take(other, "day_run"), 0);
        assert.ok((await take(other, "day_run")) >= 29);
      },
    );

    await t.step("buckets are per user and per bucket name", async () => {
      await setRate(sql, "default", 1, 0.001);
      const a = await createUser(sql);
      const b = await createUser(sql);
      assert.equal(await take(a), 0);
      assert.ok((await take(a)) > 1);
      assert.equal(await take(b), 0, "b has its own bucket");
      assert.equal(await take(a, "day_run"), 0, "day_run is another bucket");
    });

    await t.step("concurrent takes consume exactly one token each", async () => {
      const parallel = db.kind === "postgres" ? 24 : 8;
      await setRate(sql, "default", 1000, 0.000001);
      const user = await createUser(sql);
      await take(user);
      const results = await Promise.all(Array.from({ length: parallel }, () => take(user)));
      assert.ok(results.every((wait) => wait === 0));
      const row = await bucketRow(sql, user, "default");
      assert.ok(Math.abs(row.tokens - (999 - parallel)) < 0.001, String(row.tokens));

      // With fewer tokens than takers, exactly that many get through.
      await setRate(sql, "default", 5, 0.000001);
      const scarce = await createUser(sql);
      const waits = await Promise.all(Array.from({ length: parallel }, () => take(scarce)));
      assert.equal(waits.filter((wait) => wait === 0).length, 5);
    });

    await t.step(
      "only the pool's role may name claims or take tokens",
      async () => {
        const a = await createUser(sql);
        const b = await createUser(sql);
        for (const role of ["authenticated", "anon", "service_role"] as const) {
          await assert.rejects(
            asRole(
              sql,
              role,
              a,
              (tx) => tx`select wisely.begin_request(${claimsOf(b)}, 'default', 1, 1)`,
            ),
            hasCode("42501"),
          );
          await assert.rejects(
            asRole(
              sql,
              role,
              a,
              (tx) =>
                tx`select * from wisely.idempotency_claim(${claimsOf(b)}, 'k', 'day.run', ${
                  "a".repeat(64)
                }, null, null, null)`,
            ),
            hasCode("42501"),
          );
        }
        // Since migration 20260101000600 take_token is the pool's too (begin_request takes the
        // token before switching to the user): no user drains or names buckets by hand.
        for (const role of ["authenticated", "anon"] as const) {
          await assert.rejects(
            asRole(sql, role, a, (tx) => tx`select wisely.take_token('default', 1, 1)`),
            hasCode("42501"),
          );
        }
      },
    );

    await t.step("begin_request leaves the transaction as the user, under RLS", async () => {
      await setRate(sql, "default", 100, 1);
      const user = await createUser(sql);
      const [row] = await sql.begin(async (tx) => {
        await tx`select wisely.begin_request(${claimsOf(user)}, 'default', 1, 1)`;
        return await tx`
          select current_user as role, auth.uid() as uid, current_setting('search_path') as path,
            (select count(*)::int from wisely.rate_limits) as visible
        `;
      });
      assert.equal(row.role, "authenticated");
      assert.equal(row.uid, user);
      assert.equal(row.visible, 1, "only the user's own bucket is visible");
      assert.notEqual(row.path, "", "the function's own search_path does not leak");
      const [after] = await sql`select current_user as role`;
      assert.equal(after.role, "postgres", "and nothing outlives the transaction");
    });

    await t.step("enter_request refuses by raising: nothing pipelined behind it runs", async () => {
      await setRate(sql, "default", 1, 0.001);
      const user = await createUser(sql);
      const claims = claimsOf(user);
      await sql`select wisely.enter_request(${claims}, 'default', 1, 0.001)`; // the only token
      const error = await sql.begin((tx) => [
        tx`select wisely.enter_request(${claims}, 'default', 1, 0.001)`,
        tx`
          insert into wisely.intents (user_id, topic, depth, end_goal, time_per_day_min, user_tz)
          values (${user}, 'Rust', 'deep', 'Ship a crate', 30, 'UTC')
        `,
      ]).then(() => null, (e: unknown) => e);
      assert.ok(error instanceof postgres.PostgresError);
      assert.equal(error.code, "WR429");
      assert.ok(Number(error.detail) >= 1, "the wait, in whole seconds, is in DETAIL");
      const [row] =
        await sql`select count(*)::int as n from wisely.intents where user_id = ${user}`;
      assert.equal(row.n, 0, "the insert sent behind the refusal did not run");
    });
  } finally {
    await db.close();
  }
});

function caller(stack: Stack, token: string | null) {
  return async (
    method: "GET" | "POST" | "OPTIONS",
    route: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const h: Record<string, string> = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    if (body !== undefined) h["content-type"] ??= "application/json";
    const response = await fetch(`${stack.functionsUrl}/orchestrator/${route}`, {
      method,
      headers: h,
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      text,
      body: text ? JSON.parse(text) : {},
      headers: response.headers,
    };
  };
}

async function count(stack: Stack, table: string, user: string): Promise<number> {
  const [row] = await stack.sql`
    select count(*)::int as n from ${stack.sql("wisely")}.${stack.sql(table)}
    where user_id = ${user}
  `;
  return row.n;
}

const INTENT = {
  topic: "Rust",
  depth: "deep",
  end_goal: "Ship a crate",
  time_per_day_min: 30,
  user_tz: "UTC",
};

for (const backend of testBackends()) {
  Deno.test(`[${backend}] rate limits over HTTP`, async (t) => {
    const stack = await startTestStack(backend);
    try {
      const newUser = async () => {
        const id = await stack.createUser();
        return { id, call: caller(stack, await stack.userToken(id)) };
      };

      await t.step("drained: 429 RATE_LIMITED with Retry-After; refilled: 200 again", async () => {
        // A slow refill, and time moved by `age`, so no step depends on how fast requests go.
        await setRate(stack.sql, "default", 3, 0.001);
        const { id, call } = await newUser();
        for (let i = 0; i < 3; i++) assert.equal((await call("GET", "status")).status, 200);
        const limited = await call("GET", "status");
        assert.equal(limited.status, 429, limited.text);
        // 1000 s to the next token, less what refilled while the requests ran.
        const seconds = Number(limited.headers.get("retry-after"));
        assert.ok(Number.isInteger(seconds) && seconds > 990 && seconds <= 1000, String(seconds));
        assert.deepEqual(limited.body, {
          error: `Too many requests; try again in ${seconds} seconds.`,
          code: "RATE_LIMITED",
        });
        assert.equal(limited.headers.get("access-control-allow-origin"), "*");
        assert.match(limited.headers.get("content-type") ?? "", /^application\/json/);
        await age(stack.sql, id, "default", 1000); // one token refilled
        assert.equal((await call("GET", "status")).status, 200);
        assert.equal((await call("GET", "status")).status, 429);
      });

      await t.step("Retry-After counts whole seconds to the next token", async () => {
        await setRate(stack.sql, "day_run", 1, 1 / 30);
        const { call } = await newUser();
        assert.equal((await call("POST", "day.run", { week: 1, day: 1 })).status, 409);
        const limited = await call("POST", "day.run", { week: 1, day: 1 });
        assert.equal(limited.status, 429);
        const seconds = Number(limited.headers.get("retry-after"));
        assert.ok(Number.isInteger(seconds) && seconds >= 29 && seconds <= 30, String(seconds));
      });

      await t.step("one user's exhaustion does not touch another's bucket", async () => {
        await setRate(stack.sql, "default", 2, 0.001);
        const alice = await newUser();
        const bob = await newUser();
        await alice.call("GET", "status");
        await alice.call("GET", "status");
        assert.equal((await alice.call("GET", "status")).status, 429);
        assert.equal((await bob.call("GET", "status")).status, 200);
        assert.equal((await bob.call("GET", "status")).status, 200);
        assert.equal((await bob.call("GET", "status")).status, 429);
      });

      await t.step("the service role acting for a user draws on that user's bucket", async () => {
        await setRate(stack.sql, "default", 2, 0.001);
        const user = await newUser();
        const service = caller(stack, await stack.serviceToken());
        const asService = () => service("GET", "status", undefined, { "x-user-id": user.id });
        assert.equal((await asService()).status, 200);
        assert.equal((await user.call("GET", "status")).status, 200);
        assert.equal((await asService()).status, 429);
        assert.equal((await user.call("GET", "status")).status, 429);
      });

      await t.step("tunable at runtime through wisely.settings", async () => {
        await setRate(stack.sql, "default", 1, 0.001);
        const { call } = await newUser();
        assert.equal((await call("GET", "status")).status, 200);
        assert.equal((await call("GET", "status")).status, 429);
        await setRate(stack.sql, "default", 1, 1000);
        assert.equal((await call("GET", "status")).status, 200, "the new refill applies at once");
      });

      await t.step("day.run has its own bucket; a refused day.run changes nothing", async () => {
        await setRate(stack.sql, "default", 60, 1);
        await setRate(stack.sql, "day_run", 1, 0.001);
        const { id, call } = await newUser();
        assert.equal((await call("POST", "intent.sync", INTENT)).status, 201);
        assert.equal((await call("POST", "day.run", { week: 1, day: 1 })).status, 201);
        const before = {
          sessions: await count(stack, "sessions", id),
          events: await count(stack, "events", id),
          calls: await count(stack, "agent_calls", id),
          claims: await count(stack, "run_claims", id),
        };
        const limited = await call("POST", "day.run", { week: 1, day: 2 });
        assert.equal(limited.status, 429);
        assert.ok(Number(limited.headers.get("retry-after")) >= 1);
        assert.deepEqual({
          sessions: await count(stack, "sessions", id),
          events: await count(stack, "events", id),
          calls: await count(stack, "agent_calls", id),
          claims: await count(stack, "run_claims", id),
        }, before);
        assert.equal((await call("GET", "status")).status, 200, "other routes still answer");
      });

      await t.step("a refused intent.sync writes nothing", async () => {
        await setRate(stack.sql, "default", 1, 0.001);
        const { id, call } = await newUser();
        assert.equal((await call("GET", "status")).status, 200);
        assert.equal((await call("POST", "intent.sync", INTENT)).status, 429);
        assert.equal(await count(stack, "intents", id), 0);
        assert.equal(await count(stack, "events", id), 0);
      });

      await t.step("health, OPTIONS and service-only routes are never limited", async () => {
        await setRate(stack.sql, "default", 1, 0.001);
        const anonymous = caller(stack, null);
        const service = caller(stack, await stack.serviceToken());
        for (let i = 0; i < 5; i++) {
          assert.equal((await anonymous("GET", "health")).status, 200);
          assert.equal((await anonymous("OPTIONS", "status")).status, 204);
          assert.equal((await service("GET", "metrics")).status, 200);
        }
      });

      await t.step(
        "refused before the database: not charged; failed inside it: charged",
        async () => {
          await setRate(stack.sql, "default", 3, 0.000001);
          const { id, call } = await newUser();
          for (let i = 0; i < 5; i++) {
            const invalid = await call("POST", "day.done", { session_id: "nope" });
            assert.equal(invalid.status, 400);
          }
          assert.equal(await bucketRow(stack.sql, id, "default"), null, "no bucket touched yet");
          // A 404 rolls its transaction back, bucket take included; it is charged again alone.
          const unknown = {
            session_id: crypto.randomUUID(),
            completion_time_min: 5,
            confidence: 5,
          };
          assert.equal((await call("POST", "day.done", unknown)).status, 404);
          assert.equal((await call("POST", "day.done", unknown)).status, 404);
          const row = await bucketRow(stack.sql, id, "default");
          assert.ok(Math.abs(row.tokens - 1) < 0.001, String(row.tokens));
          assert.equal((await call("POST", "day.done", unknown)).status, 404);
          assert.equal((await call("POST", "day.done", unknown)).status, 429);
        },
      );

      await t.step("a valid token for an account that does not exist: 401, not 500", async () => {
        await setRate(stack.sql, "default", 60, 1);
        const ghost = crypto.randomUUID();
        const asGhost = caller(stack, await stack.userToken(ghost));
        const service = caller(stack, await stack.serviceToken());
        for (
          const result of [
            await asGhost("GET", "status"),
            await asGhost("POST", "day.run", { week: 1, day: 1 }),
            await asGhost("POST", "intent.sync", INTENT, { "idempotency-key": "k-ghost" }),
            await service("GET", "status", undefined, { "x-user-id": ghost }),
          ]
        ) {
          assert.equal(result.status, 401, result.text);
          assert.deepEqual(result.body, {
            error: "This account does not exist.",
            code: "UNAUTHORIZED",
          });
        }
      });

      await t.step("N parallel requests consume exactly N tokens", async () => {
        const parallel = backend === "postgres" ? 20 : 8;
        await setRate(stack.sql, "default", 1000, 0.000001);
        const { id, call } = await newUser();
        assert.equal((await call("GET", "status")).status, 200);
        const statuses = await Promise.all(
          Array.from({ length: parallel }, async () => (await call("GET", "status")).status),
        );
        assert.ok(statuses.every((status) => status === 200), String(statuses));
        const row = await bucketRow(stack.sql, id, "default");
        assert.ok(Math.abs(row.tokens - (999 - parallel)) < 0.001, String(row.tokens));

        await setRate(stack.sql, "default", 5, 0.000001);
        const scarce = await newUser();
        const results = await Promise.all(
          Array.from({ length: parallel }, async () => (await scarce.call("GET", "status")).status),
        );
        assert.equal(results.filter((status) => status === 200).length, 5);
        assert.equal(results.filter((status) => status === 429).length, parallel - 5);
      });
    } finally {
      await setRate(stack.sql, "default", 60, 1).catch(() => {});
      await stack.stop();
    }
  });
}

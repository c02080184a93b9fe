/**
 * Least privilege for `authenticated` (spec 9, migration 20260101000600), attacked from raw
 * database sessions as PostgREST would open them (role `authenticated`, a user's claims):
 * - the four attacks of the review: forged events (payload keys overriding the broadcast's
 *   fields), agent_calls dated `infinity`, rewritten or deleted rate_limits rows, planted
 *   run_claims; all refused with the exact SQLSTATE;
 * - the definer functions that write bookkeeping instead: each fixes `user_id = auth.uid()`,
 *   `now()` and the payload's keys, and refuses rows of another user;
 * - realtime.messages: no send on `wisely.events` topics and no read of another user's, even
 *   after a project adds a permissive policy that opens everything;
 * - `request.jwt.claim.sub` left at session level on a pooled connection names nobody in a user
 *   transaction.
 *
 * Out of this model, as for RLS itself: a session that may call set_config could rewrite its own
 * claims. PostgREST exposes tables and functions of its schemas, never set_config.
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { asUser, type UserClaims } from "../../supabase/functions/_shared/db.ts";
import { HttpRequestGate } from "../../supabase/functions/_shared/http/gate.ts";
import { claimKey } from "../../supabase/functions/_shared/http/idempotency_store.ts";
import { userDb } from "../../supabase/functions/_shared/user_db.ts";
import { asRole, asRoleCommit, freshDatabase } from "../support/db.ts";
import {
  type Bookkeeper,
  hasCode,
  refusedAs,
  REQUEST_HASH,
  seedBookkeeper,
  seedIntent,
  twoUsers,
  type Tx,
} from "../support/two_users.ts";

type Payload = Record<string, postgres.JSONValue>;

interface Ctx {
  sql: postgres.Sql;
  a: Bookkeeper;
  b: Bookkeeper;
}

/** A's valid day_completed payload for its completed session (week 1, day 1). */
function dayCompleted(o: Bookkeeper): Payload {
  return {
    session_id: o.session,
    intent_id: o.intent,
    week: 1,
    day: 1,
    next_week: 1,
    next_day: 2,
  };
}

async function forgedEvents(t: Deno.TestContext, ctx: Ctx) {
  const { sql, a, b } = ctx;
  await t.step("events: no direct insert, for oneself or for another user", async () => {
    for (const owner of [a.user, b.user]) {
      await refusedAs(sql, a.user, (tx) =>
        tx`
        insert into wisely.events (user_id, type, payload)
        values (${owner}, 'day_completed', ${sql.json({ user_id: b.user, type: "x" })})
      `, "42501");
    }
  });

  await t.step("record_event fixes user_id and created_at", async () => {
    const [row] = await asRole(sql, "authenticated", a.user, async (tx) => {
      const [{ id }] = await tx`
        select wisely.record_event('day_completed', ${sql.json(dayCompleted(a))}) as id
      `;
      return await tx`
        select user_id, type, payload, created_at = now() as now from wisely.events
        where id = ${id}
      `;
    });
    assert.equal(row.user_id, a.user);
    assert.equal(row.type, "day_completed");
    assert.deepEqual(row.payload, dayCompleted(a));
    assert.equal(row.now, true);
  });

  await t.step("record_event: payload keys cannot override type, user_id or event_id", async () => {
    for (const key of ["user_id", "type", "event_id", "created_at", "id", "notes"]) {
      const payload = { ...dayCompleted(a), [key]: key === "user_id" ? b.user : "x" };
      await refusedAs(
        sql,
        a.user,
        (tx) => tx`select wisely.record_event('day_completed', ${sql.json(payload)})`,
        "22023",
        /must have exactly the keys/,
      );
    }
    const { next_day: _, ...missing } = dayCompleted(a);
    await refusedAs(
      sql,
      a.user,
      (tx) => tx`select wisely.record_event('day_completed', ${sql.json(missing)})`,
      "22023",
    );
  });

  await t.step("record_event: values of their kind only (no text the user wrote)", async () => {
    const bad = [
      { session_id: "Rust for beginners" },
      { week: "1" },
      { week: 521 },
      { day: 1.5 },
      { next_day: 0 },
      { intent_id: null },
    ];
    for (const change of bad) {
      const payload = { ...dayCompleted(a), ...change };
      await refusedAs(
        sql,
        a.user,
        (tx) => tx`select wisely.record_event('day_completed', ${sql.json(payload)})`,
        "22023",
      );
    }
    for (const type of ["test_event", "DAY_COMPLETED", ""]) {
      await refusedAs(
        sql,
        a.user,
        (tx) => tx`select wisely.record_event(${type}, ${sql.json(dayCompleted(a))})`,
        "22023",
        /unknown event type/,
      );
    }
  });

  await eventOwnership(t, ctx);
}

async function eventOwnership(t: Deno.TestContext, ctx: Ctx) {
  const { sql, a, b } = ctx;
  await t.step("record_event: another user's rows, or rows not as stored, are 42501", async () => {
    const forged: [string, Payload][] = [
      // B's session and intent, through the definer function's arguments.
      ["day_completed", dayCompleted(b)],
      ["day_completed", { ...dayCompleted(a), intent_id: b.intent }],
      // A's session exists but is not completed, or is another day.
      ["day_completed", { ...dayCompleted(a), session_id: a.openSession, day: 2, next_day: 3 }],
      ["day_completed", { ...dayCompleted(a), next_week: 2, next_day: 1 }],
      ["intent_synced", { intent_id: b.intent, created: true, replaced_intent_id: null }],
      ["intent_synced", { intent_id: a.intent, created: false, replaced_intent_id: b.intent }],
      ["instructor_plan_created", {
        session_id: a.session,
        intent_id: a.intent,
        week: 1,
        day: 1,
        revision: 7,
        degraded_mode: true,
        cache_hits: 1,
        cache_misses: 3,
      }],
    ];
    for (const [type, payload] of forged) {
      await refusedAs(
        sql,
        a.user,
        (tx) => tx`select wisely.record_event(${type}, ${sql.json(payload)})`,
        "42501",
        /own rows as stored/,
      );
    }
    // Controls: the same types describing A's rows as stored are accepted.
    const accepted = await asRole(sql, "authenticated", a.user, (tx) =>
      tx`
      select
        wisely.record_event('intent_synced', ${
        sql.json({ intent_id: a.intent, created: true, replaced_intent_id: null })
      }) as synced,
        wisely.record_event('instructor_plan_created', ${
        sql.json({
          session_id: a.session,
          intent_id: a.intent,
          week: 1,
          day: 1,
          revision: 1,
          degraded_mode: true,
          cache_hits: 1,
          cache_misses: 3,
        })
      }) as planned
    `);
    assert.ok(Number(accepted[0].synced) > 0 && Number(accepted[0].planned) > 0);
  });
}

async function broadcastFields(t: Deno.TestContext, ctx: Ctx) {
  const { sql, a, b } = ctx;
  await t.step("the broadcast applies the row's real fields last", async () => {
    // A row the service role wrote whose payload carries the reserved keys.
    const [event] = await sql`
      insert into wisely.events (user_id, type, payload)
      values (${a.user}, 'day_completed', ${
      sql.json({ user_id: b.user, type: "intent_synced", event_id: 0, created_at: "x", week: 3 })
    })
      returning id, to_jsonb(created_at) #>> '{}' as created_at
    `;
    const messages = await sql`
      select topic, event, payload from realtime.messages
      where payload ->> 'event_id' = ${String(event.id)} order by topic
    `;
    assert.deepEqual(messages.map((m) => [m.topic, m.event]), [
      ["wisely.events", "day_completed"],
      [`wisely.events:${a.user}`, "day_completed"],
    ]);
    for (const { payload } of messages) {
      assert.equal(payload.user_id, a.user);
      assert.equal(payload.type, "day_completed");
      assert.equal(String(payload.event_id), String(event.id));
      assert.equal(payload.created_at, event.created_at);
      assert.equal(payload.week, 3, "the other keys are kept");
    }
  });
}

async function agentCalls(t: Deno.TestContext, ctx: Ctx) {
  const { sql, a, b } = ctx;
  await t.step("agent_calls: no direct insert (dated infinity, or for B)", async () => {
    for (const owner of [a, b]) {
      await refusedAs(sql, a.user, (tx) =>
        tx`
        insert into wisely.agent_calls (user_id, session_id, agent, outcome, created_at)
        values (${owner.user}, ${owner.session}, 'clo', 'fetched', 'infinity')
      `, "42501");
    }
  });

  await t.step("record_agent_calls: A's session only; user and time fixed", async () => {
    const calls = (extra: Payload = {}) =>
      sql.json([{
        agent: "clo",
        outcome: "fetched",
        status: 200,
        attempts: 1,
        latency_ms: 40,
        ...extra,
      }]);
    await refusedAs(
      sql,
      a.user,
      (tx) => tx`select wisely.record_agent_calls(${b.session}, ${calls()}, null)`,
      "42501",
      /own session/,
    );
    // Keys naming the fixed columns are ignored.
    const rows = await asRole(sql, "authenticated", a.user, async (tx) => {
      const [{ n }] = await tx`
        select wisely.record_agent_calls(${a.session},
          ${calls({ created_at: "infinity", user_id: b.user, session_id: b.session })},
          ${"0".repeat(32)}) as n
      `;
      assert.equal(n, 1);
      return await tx`
        select user_id, session_id, agent, outcome, latency_ms, created_at = now() as now
        from wisely.agent_calls where user_id = ${a.user} and created_at = now()
      `;
    });
    assert.deepEqual(rows.map((r) => ({ ...r })), [
      {
        user_id: a.user,
        session_id: a.session,
        agent: "clo",
        outcome: "fetched",
        latency_ms: 40,
        now: true,
      },
    ]);
  });

  await t.step("record_agent_calls: known agents, once each, plausible latencies", async () => {
    const bad = [
      [{ agent: "evil", outcome: "fetched" }],
      [{ agent: "clo", outcome: "fetched" }, { agent: "clo", outcome: "hit" }],
      [{ agent: "clo", outcome: "fetched", attempts: 1, latency_ms: 1_000_000_000 }],
      ["clo"],
    ];
    for (const calls of bad) {
      await refusedAs(
        sql,
        a.user,
        (tx) => tx`select wisely.record_agent_calls(${a.session}, ${sql.json(calls)}, null)`,
        "22023",
      );
    }
    await refusedAs(
      sql,
      a.user,
      (tx) => tx`select wisely.record_agent_calls(${a.session}, ${sql.json({})}, null)`,
      "22023",
    );
  });
}

async function agentCache(t: Deno.TestContext, ctx: Ctx) {
  const { sql, a, b } = ctx;
  const key = (o: Bookkeeper) => `intent:${o.intent}:w1`;
  await t.step("agent_cache: no direct insert, update or delete", async () => {
    const attacks = [
      (tx: Tx) =>
        tx`
        insert into wisely.agent_cache (user_id, agent, scope_key, payload, validated_at)
        values (${a.user}, 'alex', ${`intent:${a.intent}`}, '{}', 'infinity')
      `,
      (tx: Tx) =>
        tx`update wisely.agent_cache set validated_at = 'infinity' where user_id = ${a.user}`,
      (tx: Tx) => tx`delete from wisely.agent_cache where user_id = ${a.user}`,
    ];
    for (const attack of attacks) await refusedAs(sql, a.user, attack, "42501");
  });

  await t.step("store_agent_cache: only under A's own intents, dated now()", async () => {
    const store = (scopeKey: string) =>
      sql.json([{ agent: "alex", scope_key: scopeKey, etag: null, payload: { x: 1 } }]);
    const revalidate = (scopeKey: string) =>
      sql.json([{ agent: "clo", scope_key: scopeKey, etag: null }]);
    for (const scopeKey of [key(b), `intent:${b.intent}`, `intent:${a.intent}:w1:x`, "other"]) {
      await refusedAs(
        sql,
        a.user,
        (tx) => tx`select wisely.store_agent_cache(${store(scopeKey)}, '[]')`,
        "42501",
        /own intents/,
      );
    }
    await refusedAs(
      sql,
      a.user,
      (tx) => tx`select wisely.store_agent_cache('[]', ${revalidate(key(b))})`,
      "42501",
    );
    const rows = await asRole(sql, "authenticated", a.user, async (tx) => {
      await tx`
        select wisely.store_agent_cache(${store(`intent:${a.intent}`)}, ${revalidate(key(a))})
      `;
      return await tx`
        select agent, etag, payload, fetched_at = now() as fetched_now,
          validated_at = now() as validated_now
        from wisely.agent_cache where user_id = ${a.user} order by agent
      `;
    });
    assert.deepEqual(rows.map((r) => ({ ...r })), [
      { agent: "alex", etag: null, payload: { x: 1 }, fetched_now: true, validated_now: true },
      // Revalidated: validated now, the ETag kept, fetched_at as it was.
      { agent: "clo", etag: '"e1"', payload: {}, fetched_now: false, validated_now: true },
    ]);
  });
}

async function rateLimits(t: Deno.TestContext, ctx: Ctx) {
  const { sql, a, b } = ctx;
  await t.step("rate_limits: no refill, corruption or deletion; no token takes", async () => {
    const attacks = [
      (tx: Tx) => tx`update wisely.rate_limits set tokens = 1e9 where user_id = ${a.user}`,
      (tx: Tx) =>
        tx`update wisely.rate_limits set updated_at = 'infinity' where user_id = ${a.user}`,
      (tx: Tx) => tx`delete from wisely.rate_limits where user_id = ${a.user}`,
      (tx: Tx) =>
        tx`insert into wisely.rate_limits (user_id, bucket, tokens) values (${a.user}, 'x', 1e9)`,
      (tx: Tx) => tx`select wisely.take_token('default', 1e9, 1e9)`,
    ];
    for (const attack of attacks) await refusedAs(sql, a.user, attack, "42501");
    const [row] = await asRole(sql, "authenticated", a.user, (tx) =>
      tx`
      select tokens from wisely.rate_limits
    `);
    assert.equal(row.tokens, 3, "A still reads its own bucket, unchanged");
    const [other] = await sql`select tokens from wisely.rate_limits where user_id = ${b.user}`;
    assert.equal(other.tokens, 3);
  });
}

async function runClaims(t: Deno.TestContext, ctx: Ctx) {
  const { sql, a, b } = ctx;
  await t.step("run_claims: no planted, prolonged or removed claims", async () => {
    const attacks = [
      (tx: Tx) =>
        tx`
        insert into wisely.run_claims (intent_id, week, day, user_id, expires_at)
        values (${a.intent}, 2, 1, ${a.user}, 'infinity')
      `,
      (tx: Tx) =>
        tx`update wisely.run_claims set expires_at = 'infinity' where user_id = ${a.user}`,
      (tx: Tx) => tx`delete from wisely.run_claims where user_id = ${a.user}`,
    ];
    for (const attack of attacks) await refusedAs(sql, a.user, attack, "42501");
    await refusedAs(
      sql,
      a.user,
      (tx) => tx`select * from wisely.claim_run(${b.intent}, 2, 1, false)`,
      "42501",
      /own intent/,
    );
    const released = await asRole(sql, "authenticated", a.user, (tx) =>
      tx`
      select wisely.release_run(${b.intent}, 1, 3, ${b.claim}) as ok
    `);
    assert.equal(released[0].ok, false, "B's claim is not A's to release");
  });

  await t.step(
    "claim_day: another user's id reads and claims nothing; anon cannot call it",
    async () => {
      const claimsOfB = () =>
        sql`select count(*)::int as n from wisely.run_claims where user_id = ${b.user}`
          .then(([row]) => row.n);
      const before = await claimsOfB();
      const rows = await asRoleCommit(
        sql,
        "authenticated",
        a.user,
        (tx) => tx`select kind from wisely.claim_day(${b.user}, 5, 1, false, false, true, 21, 60)`,
      );
      assert.deepEqual([...rows], [], "B's intent reads as none to A");
      assert.equal(await claimsOfB(), before, "no claim on B's days");
      await assert.rejects(
        asRole(
          sql,
          "anon",
          null,
          (tx) =>
            tx`select kind from wisely.claim_day(${a.user}, 5, 1, false, false, true, 21, 60)`,
        ),
        hasCode("42501"),
      );
    },
  );

  await t.step("claim_run fixes the expiry from the settings; release_run", async () => {
    const result = await asRole(sql, "authenticated", a.user, async (tx) => {
      const claim = async (research: boolean) =>
        (await tx`
          select claim_id, extract(epoch from expires_at - now())::float8 as lasts_s
          from wisely.claim_run(${a.intent}, 2, ${research ? 2 : 1}, ${research})
        `.then((rows) => rows.map((r) => ({ ...r }))))[0];
      const first = await claim(false);
      const again = await claim(false);
      const research = await claim(true);
      const [{ ok: wrong }] = await tx`
        select wisely.release_run(${a.intent}, 2, 1, ${crypto.randomUUID()}) as ok
      `;
      const [{ ok: right }] = await tx`
        select wisely.release_run(${a.intent}, 2, 1, ${first.claim_id}) as ok
      `;
      return { first, again, research, wrong, right };
    });
    // The run deadline (12 s; 30 s with research) plus 5 s to store.
    assert.equal(result.first.lasts_s, 17);
    assert.ok(typeof result.first.claim_id === "string");
    assert.deepEqual(result.again, { claim_id: null, lasts_s: 17 }, "held: the live expiry");
    assert.equal(result.research.lasts_s, 35);
    assert.equal(result.wrong, false);
    assert.equal(result.right, true);
  });

  await t.step(
    "claim_run: an absurd deadline setting is bounded as settings.ts bounds it",
    async () => {
      await sql`update wisely.settings set value = '1e12' where key = 'run.deadline_ms'`;
      try {
        const [row] = await asRole(sql, "authenticated", a.user, (tx) =>
          tx`
        select extract(epoch from expires_at - now())::float8 as lasts_s
        from wisely.claim_run(${a.intent}, 4, 1, false)
      `);
        assert.equal(row.lasts_s, 17);
      } finally {
        await sql`update wisely.settings set value = '12000' where key = 'run.deadline_ms'`;
      }
    },
  );
}

async function idempotencyKeys(t: Deno.TestContext, ctx: Ctx) {
  const { sql, a } = ctx;
  await t.step("idempotency_keys: no direct writes; the key functions are the pool's", async () => {
    const claims = JSON.stringify({ sub: a.user, role: "authenticated" });
    const attacks = [
      (tx: Tx) =>
        tx`
        insert into wisely.idempotency_keys (user_id, key, route, request_hash, expires_at)
        values (${a.user}, 'key-2', 'day.run', ${REQUEST_HASH}, 'infinity')
      `,
      (tx: Tx) =>
        tx`
        update wisely.idempotency_keys set state = 'done', response_status = 200,
          response_body = '"forged"' where user_id = ${a.user}
      `,
      (tx: Tx) => tx`delete from wisely.idempotency_keys where user_id = ${a.user}`,
      (tx: Tx) => tx`select wisely.idempotency_finish(${claims}, 'key-1', 'x', 200, 'forged')`,
      (tx: Tx) => tx`select wisely.set_request_claims(${claims})`,
    ];
    for (const attack of attacks) await refusedAs(sql, a.user, attack, "42501");
  });
}

/** Reads realtime.messages as `user` joined to `channel` (as Realtime checks a join). */
function readAs(ctx: Ctx, role: "authenticated" | "anon", user: string | null, channel: string) {
  return asRole(ctx.sql, role, user, async (tx) => {
    await tx`select set_config('realtime.topic', ${channel}, true)`;
    return await tx`select topic from realtime.messages`;
  });
}

/** Sends on `topic` as `user` (as Realtime checks a send: an insert with the channel set). */
function sendAs(ctx: Ctx, user: string, topic: string, channel = topic) {
  return asRole(ctx.sql, "authenticated", user, async (tx) => {
    await tx`select set_config('realtime.topic', ${channel}, true)`;
    return await tx`
      insert into realtime.messages (topic, extension, payload, private)
      values (${topic}, 'broadcast', '{"forged": true}', true)
    `;
  });
}

async function realtimeTopics(t: Deno.TestContext, ctx: Ctx) {
  const { sql, a, b } = ctx;
  const own = `wisely.events:${a.user}`;
  const others = `wisely.events:${b.user}`;
  await t.step("realtime.messages: no user sends on wisely.events topics", async () => {
    for (const topic of [others, "wisely.events", own]) {
      await assert.rejects(sendAs(ctx, a.user, topic), hasCode("42501"));
    }
  });

  await t.step("realtime.messages: another user's topic reads as empty", async () => {
    const [{ n }] =
      await sql`select count(*)::int as n from realtime.messages where topic = ${others}`;
    assert.ok(n >= 1, "B has messages");
    assert.equal((await readAs(ctx, "authenticated", a.user, others)).length, 0);
    assert.equal((await readAs(ctx, "authenticated", a.user, "wisely.events")).length, 0);
    assert.ok((await readAs(ctx, "authenticated", a.user, own)).length >= 1);
  });

  await t.step("the restrictive policy holds whatever permissive policy is added", async () => {
    await sql`insert into realtime.messages (topic, extension, payload) values ('lobby', 'broadcast', '{}')`;
    await sql`
      create policy project_opens_everything on realtime.messages for all to anon, authenticated
      using (true) with check (true)
    `;
    try {
      const topics = async (channel: string) =>
        new Set((await readAs(ctx, "authenticated", a.user, channel)).map((m) => m.topic));
      assert.deepEqual(await topics(own), new Set([own, "lobby"]), "own topic and others' lobby");
      assert.deepEqual(await topics("lobby"), new Set([own, "lobby"]));
      assert.deepEqual(await topics(others), new Set(), "joined to B's topic: nothing at all");
      assert.deepEqual(await topics("wisely.events"), new Set());
      const anon = await readAs(ctx, "anon", null, "lobby");
      assert.deepEqual(new Set(anon.map((m) => m.topic)), new Set(["lobby"]));

      for (
        const [topic, channel] of [[others, others], ["wisely.events", "wisely.events"], [
          others,
          own,
        ], ["lobby", others]]
      ) {
        await assert.rejects(sendAs(ctx, a.user, topic, channel), hasCode("42501"));
      }
      assert.equal(
        (await sendAs(ctx, a.user, own)).count,
        1,
        "A's own topic, as the project allows",
      );
      assert.equal((await sendAs(ctx, a.user, "lobby")).count, 1);
    } finally {
      await sql`drop policy project_opens_everything on realtime.messages`;
    }
  });
}

Deno.test("least privilege for authenticated: bookkeeping only through definer functions", async (t) => {
  const db = await freshDatabase();
  try {
    const ctx: Ctx = { sql: db.sql, ...await twoUsers(db.sql, seedBookkeeper) };
    // Committed, so B has a message on its topic (realtime tests) and A on its own.
    for (const o of [ctx.a, ctx.b]) {
      await asRoleCommit(db.sql, "authenticated", o.user, (tx) =>
        tx`
        select wisely.record_event('day_completed', ${db.sql.json(dayCompleted(o))})
      `);
    }
    await forgedEvents(t, ctx);
    await broadcastFields(t, ctx);
    await agentCalls(t, ctx);
    await agentCache(t, ctx);
    await rateLimits(t, ctx);
    await runClaims(t, ctx);
    await idempotencyKeys(t, ctx);
    await realtimeTopics(t, ctx);
  } finally {
    await db.close();
  }
});

Deno.test("a session-level request.jwt.claim.sub left on a connection names nobody", async (t) => {
  // One connection, so every statement below shares the backend the leftover is on.
  const db = await freshDatabase({ max: 1 });
  const { sql } = db;
  try {
    const { user: a } = await seedIntent(sql);
    const { user: b } = await seedIntent(sql);
    // What another client of a shared pooled backend could leave behind.
    await sql`select set_config('request.jwt.claim.sub', ${b}, false)`;
    const [control] = await sql`select auth.uid() as uid`;
    assert.equal(control.uid, b, "the leftover would name B to auth.uid()");

    const claims: UserClaims = { sub: a, role: "authenticated" };
    const seen = (tx: Parameters<Parameters<typeof asUser>[2]>[0]) =>
      tx`
      select auth.uid() as uid, array_agg(distinct user_id) as owners from wisely.intents
    `.then(([row]) => ({ uid: row.uid, owners: row.owners }));

    await t.step("asUser's transaction sees A", async () => {
      assert.deepEqual(await asUser(sql, claims, seen), { uid: a, owners: [a] });
    });

    await t.step("so does one whose first statement is the rate-limit gate", async () => {
      const gate = new HttpRequestGate({ bucket: "default", idempotency: null });
      assert.deepEqual(await userDb(sql, claims, gate).transaction(seen), { uid: a, owners: [a] });
      const [bucket] = await sql`select user_id from wisely.rate_limits`;
      assert.equal(bucket.user_id, a, "the token was taken from A's bucket");
    });

    await t.step("and an Idempotency-Key claim is A's", async () => {
      const outcome = await claimKey(sql, JSON.stringify(claims), {
        key: "k-1",
        route: "intent.sync",
        hash: REQUEST_HASH,
      }, null);
      assert.equal(outcome.kind, "claimed");
      const rows = await sql`select user_id from wisely.idempotency_keys`;
      assert.deepEqual(rows.map((r) => r.user_id), [a]);
    });

    const [after] = await sql`select current_setting('request.jwt.claim.sub') as sub`;
    assert.equal(after.sub, b, "the transaction-local value only shadowed it");
  } finally {
    await db.close();
  }
});

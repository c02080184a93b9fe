/**
 * Two learners, A and B, each owning rows, for the tests that attack row-level security and the
 * security definer functions from raw database sessions as PostgREST opens them: role
 * `authenticated` with one user's JWT claims (`asRole` of db.ts). A must reach A's rows only.
 *
 * Rows are seeded as the superuser, so they exist whatever the policies allow; `refusedAs` and
 * `hasCode` state what a refused attempt looks like (the SQLSTATE postgres.js reports).
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { asRole, createUser } from "./db.ts";

export type Tx = postgres.TransactionSql;

/** A request hash as `wisely.idempotency_keys` stores it (64 hex digits). */
export const REQUEST_HASH = "a".repeat(64);

/** Columns of `wisely.intents` a test may set; the others keep the schema's defaults. */
export interface IntentFields {
  /** @default "Go" */
  topic?: string;
  /** @default "informed" */
  depth?: string;
  /** @default "Write a server" */
  end_goal?: string;
  /** @default 45 */
  time_per_day_min?: number;
  /** @default "UTC" (the column's default) */
  user_tz?: string;
  /** Local "HH:MM". @default "07:00" (the column's default) */
  plan_time?: string;
}

/** A user with an active intent. */
export interface IntentOwner {
  user: string;
  intent: string;
}

/** A new user with an active intent, as the superuser. */
export async function seedIntent(
  sql: postgres.Sql,
  fields: IntentFields = {},
): Promise<IntentOwner> {
  const user = await createUser(sql);
  const row = {
    user_id: user,
    topic: "Go",
    depth: "informed",
    end_goal: "Write a server",
    time_per_day_min: 45,
    ...fields,
  };
  const [intent] = await sql`insert into wisely.intents ${sql(row)} returning id`;
  return { user, intent: intent.id };
}

/** A learner's intent and two sessions of it. */
export interface Learner extends IntentOwner {
  /** Week 1, day 1: opened and completed (40 min, confidence 8); degraded, 1 hit, 3 misses. */
  session: string;
  /** Week 1, day 2: opened, not completed; not degraded, 2 hits, 2 misses. */
  openSession: string;
}

/** A new learner with an intent, a completed session (week 1 day 1) and an open one (day 2). */
export async function seedLearner(sql: postgres.Sql): Promise<Learner> {
  const { user, intent } = await seedIntent(sql);
  const sessions = await sql`
    insert into wisely.sessions (user_id, intent_id, week, day, plan_md, plan_summary, plan,
      total_minutes, degraded_mode, cache_hits, cache_misses, signal_quality, opened_at)
    values
      (${user}, ${intent}, 1, 1, '# plan', '{}', '{}', 45, true, 1, 3, '{}', now()),
      (${user}, ${intent}, 1, 2, '# plan', '{}', '{}', 45, false, 2, 2, '{}', now())
    returning id, day
  `;
  const session = sessions.find((s) => s.day === 1)?.id;
  const openSession = sessions.find((s) => s.day === 2)?.id;
  assert.ok(typeof session === "string" && typeof openSession === "string");
  await sql`
    insert into wisely.completions (session_id, user_id, completion_time_min, confidence)
    values (${session}, ${user}, 40, 8)
  `;
  return { user, intent, session, openSession };
}

/** A learner who also has a row in every bookkeeping table. */
export interface Bookkeeper extends Learner {
  /** The id of a live run claim on week 1, day 3. */
  claim: string;
}

/**
 * A new learner (seedLearner) with a row in each bookkeeping table: a plan revision of the
 * completed session, a cached `clo` payload (ETag `"e1"`, payload `{}`, validated a day ago),
 * an agent call, a `default` rate-limit bucket of 3 tokens, the idempotency key `key-1`, a live
 * run claim on week 1 day 3, and an `intent_synced` event (so the learner's Realtime topic has
 * a message).
 */
export async function seedBookkeeper(sql: postgres.Sql): Promise<Bookkeeper> {
  const learner = await seedLearner(sql);
  const { user, intent, session } = learner;
  await sql`
    insert into wisely.plan_revisions (session_id, user_id, revision, plan_md, plan_summary, plan,
      degraded_mode, cache_hits, cache_misses, signal_quality)
    values (${session}, ${user}, 1, '# plan', '{}', '{}', true, 1, 3, '{}')
  `;
  await sql`
    insert into wisely.agent_cache (user_id, agent, scope_key, etag, payload, validated_at)
    values (${user}, 'clo', ${`intent:${intent}:w1`}, '"e1"', '{}', now() - interval '1 day')
  `;
  await sql`
    insert into wisely.agent_calls (user_id, session_id, agent, outcome, status, attempts)
    values (${user}, ${session}, 'clo', 'fetched', 200, 1)
  `;
  await sql`insert into wisely.rate_limits (user_id, bucket, tokens) values (${user}, 'default', 3)`;
  await sql`
    insert into wisely.idempotency_keys (user_id, key, route, request_hash)
    values (${user}, 'key-1', 'day.run', ${REQUEST_HASH})
  `;
  const [claim] = await sql`
    insert into wisely.run_claims (intent_id, week, day, user_id, expires_at)
    values (${intent}, 1, 3, ${user}, now() + interval '1 minute')
    returning claim_id
  `;
  const synced = { intent_id: intent, created: true, replaced_intent_id: null };
  await sql`
    insert into wisely.events (user_id, type, payload)
    values (${user}, 'intent_synced', ${sql.json(synced)})
  `;
  return { ...learner, claim: claim.claim_id };
}

/** Users A and B, seeded one after the other by `seed`. */
export async function twoUsers<T>(
  sql: postgres.Sql,
  seed: (sql: postgres.Sql) => Promise<T>,
): Promise<{ a: T; b: T }> {
  const a = await seed(sql);
  const b = await seed(sql);
  return { a, b };
}

/** Asserts a Postgres error with this SQLSTATE (and a message matching `message`, when given). */
export function hasCode(code: string, message?: RegExp): (error: unknown) => true {
  return (error: unknown) => {
    assert.ok(typeof error === "object" && error !== null && "code" in error, String(error));
    assert.equal(error.code, code, String(error));
    if (message) assert.match(String(error), message);
    return true;
  };
}

/**
 * Runs fn as `user` in a raw `authenticated` session (rolled back) and asserts it fails with
 * SQLSTATE `code` (and a message matching `message`, when given).
 */
export async function refusedAs(
  sql: postgres.Sql,
  user: string,
  fn: (tx: Tx) => Promise<unknown>,
  code: string,
  message?: RegExp,
): Promise<void> {
  await assert.rejects(asRole(sql, "authenticated", user, fn), hasCode(code, message));
}

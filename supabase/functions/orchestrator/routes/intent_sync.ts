/** `POST intent.sync` (spec 5.3): one active intent per user; same topic updates in place. */
import { commitBehind, constraintName, jsonb, sqlState, type Tx } from "../../_shared/db.ts";
import { ApiError, invalidRequest } from "../../_shared/errors.ts";
import { recordEvent } from "../../_shared/events.ts";
import { readJson } from "../../_shared/http/body.ts";
import type { Route } from "../../_shared/http/app.ts";
import { json } from "../../_shared/http/respond.ts";
import { IntentSyncBody, planTimeOf } from "../../_shared/schemas.ts";
import { type IntentRow, intentView } from "../intents.ts";

/**
 * The route's whole transaction, in the caller's user transaction: deactivate or update the
 * active intent, insert the new one, record the event, sent with COMMIT (the transaction ends
 * here). Exported for the benchmark's baseline.
 */
export async function syncIntent(
  tx: Tx,
  userId: string,
  body: IntentSyncBody,
): Promise<{ intent: IntentRow; created: boolean }> {
  // Serialise this user's syncs so two concurrent first syncs cannot both insert. Pipelined
  // with the read, which runs once the lock is held.
  const lock = tx`select pg_advisory_xact_lock(hashtextextended(${"wisely.intent:" + userId}, 0))`
    .execute();
  const [active] = await tx<{ id: string; same_topic: boolean }[]>`
    select id, lower(btrim(topic)) = lower(${body.topic}) as same_topic
    from wisely.intents where user_id = ${userId} and active
  `;
  await lock;
  return active?.same_topic
    ? { intent: await updateIntent(tx, active.id, body), created: false }
    : { intent: await replaceIntent(tx, userId, active?.id ?? null, body), created: true };
}

/** The same topic: the active intent updated in place, then its event and COMMIT (pipelined). */
async function updateIntent(tx: Tx, id: string, body: IntentSyncBody): Promise<IntentRow> {
  const [[row]] = await commitBehind(
    tx,
    Promise.all([
      tx<IntentRow[]>`
      update wisely.intents set
        topic = ${body.topic}, depth = ${body.depth}, end_goal = ${body.end_goal},
        time_per_day_min = ${body.time_per_day_min}, user_tz = ${body.user_tz},
        plan_time = ${planTimeOf(body.meta)}::time, meta = ${jsonb(tx, body.meta)},
        updated_at = now()
      where id = ${id}
      returning *
    `.execute(),
      recordEvent(tx, "intent_synced", { intent_id: id, created: false, replaced_intent_id: null }),
    ]),
  );
  return row;
}

/**
 * A new intent, replacing the active one if any. Pipelined, one round trip, sent in this order
 * (`execute` hands a query to the connection at once, and so does recordEvent): retire the
 * old intent, insert the new one (the unique index on active intents sees the first statement's
 * effect) under an id chosen here, so its event can be sent behind it; then COMMIT.
 */
async function replaceIntent(
  tx: Tx,
  userId: string,
  replaced: string | null,
  body: IntentSyncBody,
): Promise<IntentRow> {
  const id = crypto.randomUUID();
  const [, [row]] = await commitBehind(
    tx,
    Promise.all([
      replaced
        ? tx`update wisely.intents set active = false, updated_at = now() where id = ${replaced}`
          .execute()
        : null,
      tx<IntentRow[]>`
      insert into wisely.intents
        (id, user_id, topic, depth, end_goal, time_per_day_min, user_tz, plan_time, meta)
      values (${id}, ${userId}, ${body.topic}, ${body.depth}, ${body.end_goal},
        ${body.time_per_day_min}, ${body.user_tz}, ${planTimeOf(body.meta)}::time,
        ${jsonb(tx, body.meta)})
      returning *
    `.execute(),
      recordEvent(tx, "intent_synced", {
        intent_id: id,
        created: true,
        replaced_intent_id: replaced,
      }),
    ]),
  );
  return row;
}

export function intentSyncRoute(): Route {
  return {
    method: "POST",
    path: "intent.sync",
    auth: "user",
    async handle({ req, principal, db }) {
      const body = await readJson(req, IntentSyncBody);
      try {
        const { intent, created } = await db.transaction((tx) =>
          syncIntent(tx, principal.userId, body)
        );
        return json(intentView(intent), created ? 201 : 200);
      } catch (error) {
        throw mapIntentError(error);
      }
    },
  };
}

/** Constraint failures the request schema cannot see ahead (e.g. a zone Postgres lacks). */
function mapIntentError(error: unknown): unknown {
  const state = sqlState(error);
  if (state === "23503" && constraintName(error) === "intents_user_tz_fkey") {
    return invalidRequest("The request body is not valid.", [
      { path: ["user_tz"], message: "This time zone is not known to the database." },
    ]);
  }
  if (state === "23503" && constraintName(error) === "intents_user_id_fkey") {
    return new ApiError(401, "UNAUTHORIZED", "This account does not exist.", { cause: error });
  }
  return error;
}

/**
 * `POST intent.pause`, `POST intent.resume`, `POST intent.cancel` (spec 12): a learner's
 * controls over their one active intent (there is no id in the body: each acts on the caller's
 * own active intent, so another user's can never be named).
 *
 * - pause `{until?}`: paused from today (local, the intent's `user_tz`) through `until`, the last
 *   paused day (today .. today + 60; default today + 60, "until resumed"). Pausing a paused
 *   intent moves its last day (200, `changed` says whether it moved). While paused, day.tick
 *   generates nothing and the streak is frozen; day.run and day.done still work (the learner
 *   asked explicitly) and do not resume. Once `until` has passed the intent is active again.
 * - resume: active again from today; on an intent that is not paused it is a no-op (200,
 *   `changed: false`, no event), so a retried call is harmless.
 * - cancel: the intent ends (inactive, `cancelled_at`); its sessions, completions and events
 *   stay, and the next intent.sync starts a new intent.
 *
 * Without an active intent each answers 409 `NO_ACTIVE_INTENT`. Pause windows are written only
 * by the SECURITY DEFINER functions of migration 20260101001100 (users cannot write them
 * directly: they freeze the streak). Events `intent_paused`, `intent_resumed` and
 * `intent_cancelled` are recorded in the same transaction.
 */
import type { Tx } from "../../_shared/db.ts";
import { ApiError, invalidRequest } from "../../_shared/errors.ts";
import { recordEvent } from "../../_shared/events.ts";
import type { Route } from "../../_shared/http/app.ts";
import { readJson } from "../../_shared/http/body.ts";
import { json } from "../../_shared/http/respond.ts";
import type { IntentControlResponse } from "../../_shared/responses.ts";
import { IntentControlBody, IntentPauseBody, PAUSE_MAX_DAYS } from "../../_shared/schemas.ts";
import type { z } from "zod";

type ControlView = z.output<typeof IntentControlResponse>;

interface PauseRow {
  outcome: "paused" | "no_intent" | "until_past" | "until_too_far";
  intent_id: string | null;
  paused_until: string | null;
  today: string | null;
  max_until: string | null;
  changed: boolean;
}

interface ResumeRow {
  outcome: "resumed" | "no_intent";
  intent_id: string | null;
  changed: boolean;
}

const noActiveIntent = (action: string) =>
  new ApiError(409, "NO_ACTIVE_INTENT", `There is no active intent to ${action}.`);

/** The route's database step: pause (or move the pause's last day), and record the event. */
export async function pauseIntent(tx: Tx, until: string | null): Promise<ControlView> {
  // Dates as text (never DateStyle's), the bounds computed by the function itself.
  const [row] = await tx<PauseRow[]>`
    select outcome, intent_id, to_char(paused_until, 'YYYY-MM-DD') as paused_until,
      to_char(today, 'YYYY-MM-DD') as today,
      to_char(today + ${PAUSE_MAX_DAYS}::int, 'YYYY-MM-DD') as max_until, changed
    from wisely.pause_intent(${until}::date)
  `;
  if (row.outcome === "no_intent" || row.intent_id === null) throw noActiveIntent("pause");
  if (row.outcome !== "paused" || row.paused_until === null) {
    throw invalidRequest("The request body is not valid.", [{
      path: ["until"],
      message: `The last paused day must be from today (${row.today}) to ${row.max_until}, ` +
        `local dates in the intent's time zone.`,
    }]);
  }
  if (row.changed) {
    await recordEvent(tx, "intent_paused", {
      intent_id: row.intent_id,
      paused_until: row.paused_until,
    });
  }
  return {
    intent_id: row.intent_id,
    state: "paused",
    paused_until: row.paused_until,
    cancelled_at: null,
    changed: row.changed,
  };
}

/** The route's database step: end today's pause, if any, and record the event when one ended. */
export async function resumeIntent(tx: Tx): Promise<ControlView> {
  const [row] = await tx<ResumeRow[]>`
    select outcome, intent_id, changed from wisely.resume_intent()
  `;
  if (row.outcome === "no_intent" || row.intent_id === null) throw noActiveIntent("resume");
  if (row.changed) await recordEvent(tx, "intent_resumed", { intent_id: row.intent_id });
  return {
    intent_id: row.intent_id,
    state: "active",
    paused_until: null,
    cancelled_at: null,
    changed: row.changed,
  };
}

/**
 * The route's database step: end the active intent (a trigger ends its pause too) and record
 * the event. Serialised with intent.sync by the same per-user lock.
 */
export async function cancelIntent(tx: Tx, userId: string): Promise<ControlView> {
  await tx`select pg_advisory_xact_lock(hashtextextended(${"wisely.intent:" + userId}, 0))`;
  const [row] = await tx<{ id: string; cancelled_at: Date }[]>`
    update wisely.intents set active = false, cancelled_at = now(), updated_at = now()
    where user_id = ${userId} and active
    returning id, cancelled_at
  `;
  if (!row) throw noActiveIntent("cancel");
  await recordEvent(tx, "intent_cancelled", { intent_id: row.id });
  return {
    intent_id: row.id,
    state: "cancelled",
    paused_until: null,
    cancelled_at: row.cancelled_at.toISOString(),
    changed: true,
  };
}

/** The three routes, each in the caller's user transaction. */
export function intentControlRoutes(): Route[] {
  return [
    {
      method: "POST",
      path: "intent.pause",
      auth: "user",
      async handle({ req, db }) {
        const body = await readJson(req, IntentPauseBody);
        return json(await db.transaction((tx) => pauseIntent(tx, body.until ?? null)));
      },
    },
    {
      method: "POST",
      path: "intent.resume",
      auth: "user",
      async handle({ req, db }) {
        await readJson(req, IntentControlBody);
        return json(await db.transaction(resumeIntent));
      },
    },
    {
      method: "POST",
      path: "intent.cancel",
      auth: "user",
      async handle({ req, principal, db }) {
        await readJson(req, IntentControlBody);
        return json(await db.transaction((tx) => cancelIntent(tx, principal.userId)));
      },
    },
  ];
}

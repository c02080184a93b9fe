/**
 * The SDK's data types, inferred from the zod schemas the functions validate and answer with:
 * requests from `_shared/schemas.ts` (what a caller may send: `z.input`), responses from
 * `_shared/responses.ts` (what comes back: `z.output`), events from `_shared/event_schemas.ts`.
 * Nothing here is written by hand, so the SDK cannot drift from the API; `sdk_types.test.ts`
 * checks it. Type-only imports: none of this exists at run time, so the SDK itself stays plain
 * JavaScript for browsers and Node.
 */
import type { z } from "zod";
import type * as requests from "../supabase/functions/_shared/schemas.ts";
import type * as responses from "../supabase/functions/_shared/responses.ts";
import type * as events from "../supabase/functions/_shared/event_schemas.ts";
import type {
  SessionsQuery as SessionsQuerySchema,
} from "../supabase/functions/orchestrator/routes/sessions.ts";
import type * as calendar from "../supabase/functions/_shared/calendar/schemas.ts";

/** `POST intent.sync`'s body: `user_tz` defaults to UTC, `meta` to `{}`. */
export type IntentSyncRequest = z.input<typeof requests.IntentSyncBody>;
/** `POST day.run`'s body. */
export type DayRunRequest = z.input<typeof requests.DayRunBody>;
/** `POST day.done`'s body. */
export type DayDoneRequest = z.input<typeof requests.DayDoneBody>;
/** `POST intent.pause`'s body: `until` (a local date) is optional. */
export type IntentPauseRequest = z.input<typeof requests.IntentPauseBody>;
/** `GET sessions`' query: both optional (`limit` defaults to 20 on the server). */
export type SessionsQuery = Partial<z.output<typeof SessionsQuerySchema>>;

/** `{error, code, details?}`: what every failed call answers. */
export type ErrorResponse = z.output<typeof responses.ErrorResponse>;
/** The API's error codes. */
export type ApiErrorCode = ErrorResponse["code"];
/** One entry of `details` (zod issue path and message). */
export type ErrorDetail = NonNullable<ErrorResponse["details"]>[number];

export type IntentSyncResponse = z.output<typeof responses.IntentResponse>;
/** A stored plan (200 or 201). */
export type DayRunResponse = z.output<typeof responses.DayRunResponse>;
/** day.run's 202: composed from the cache while another request runs the day; not stored. */
export type DayRunProvisionalResponse = z.output<
  typeof responses.DayRunProvisionalResponse
>;
/** What day.run answers: a stored plan, or a provisional one (`provisional: true`). */
export type DayRunResult = DayRunResponse | DayRunProvisionalResponse;
export type DayDoneResponse = z.output<typeof responses.DayDoneResponse>;
export type StatusResponse = z.output<typeof responses.StatusResponse>;
export type SessionsResponse = z.output<typeof responses.SessionsResponse>;
/** One row of `GET sessions`. */
export type SessionSummary = SessionsResponse["sessions"][number];
export type HealthResponse = z.output<typeof responses.HealthResponse>;
/** `POST calendar.link`: the secret feed URL (`{url}`). */
export type CalendarLinkResponse = z.output<typeof calendar.CalendarLinkResponse>;
/** `DELETE calendar.link`: `{revoked}`, false when there was no link. */
export type CalendarRevokeResponse = z.output<typeof calendar.CalendarRevokeResponse>;
/** What `intent.pause`, `intent.resume` and `intent.cancel` answer. */
export type IntentControlResponse = z.output<typeof responses.IntentControlResponse>;

/** day.run's SSE `agent` event. */
export type DayRunAgentEvent = z.output<typeof events.DayRunAgentEvent>;
/** day.run's SSE `error` event (the SDK throws it as an `OrchestratorError`). */
export type DayRunErrorEvent = z.output<typeof events.DayRunErrorEvent>;
/** What `runDay` yields: each agent as it settles, then the plan. */
export type DayRunProgress =
  | { type: "agent"; data: DayRunAgentEvent }
  | { type: "plan"; data: DayRunResult };

/** A learner's Realtime event: the payload of a broadcast on `wisely.events:<user_id>`. */
export type LearnerEvent = z.output<typeof events.LearnerEvent>;
/**
 * `intent_synced`, `instructor_plan_created`, `day_completed`, `intent_paused`,
 * `intent_resumed`, `intent_cancelled`.
 */
export type LearnerEventType = LearnerEvent["type"];

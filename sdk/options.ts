/**
 * The SDK's own option and handle types (the data types are in `types.ts`). Type-only: the
 * JavaScript modules refer to them in JSDoc.
 */
import type { RealtimeChannel } from "@supabase/supabase-js";
import type { LearnerEvent } from "./types.ts";

export interface OrchestratorOptions {
  /** The function's name, as deployed. @default "orchestrator" */
  functionName?: string;
  /**
   * The user a service-principal client (made with a secret key) acts for, sent as
   * `X-User-ID`. @default none: the signed-in user is the learner
   */
  userId?: string;
}

export interface CallOptions {
  /** Cancels the request: the call throws `OrchestratorError` with code `ABORTED`. @default none */
  signal?: AbortSignal;
  /**
   * `Idempotency-Key` for POST routes: a retry with the same key and body returns the stored
   * answer instead of running again. @default none
   */
  idempotencyKey?: string;
}

export interface DayRunOptions extends CallOptions {
  /** Ask the agents again and store the plan as revision + 1. @default false */
  forceRefresh?: boolean;
  /** Deeper resource research: a 30 s deadline instead of 12 s. @default false */
  research?: boolean;
}

export interface SessionsOptions {
  /** Sessions per page request. @default 20 (the server's default) */
  limit?: number;
  /** Cancels the page requests. @default none */
  signal?: AbortSignal;
}

export interface SubscribeOptions {
  /** Called for each of the learner's events, in commit order. */
  onEvent: (event: LearnerEvent) => void;
  /**
   * Channel status changes after the first join (`CHANNEL_ERROR`, `CLOSED`, `SUBSCRIBED` again
   * after a reconnect). @default none
   */
  onStatus?: (status: string, error?: Error) => void;
  /** Broadcasts of a type this SDK does not know (a newer API). @default ignored */
  onOther?: (event: string, payload: unknown) => void;
  /** Whose events. @default the signed-in user */
  userId?: string;
  /** How long the join may take before it fails with `REALTIME_ERROR`. @default 10000 */
  timeoutMs?: number;
}

export interface LearnerEventSubscription {
  /** `wisely.events:<user_id>` */
  topic: string;
  userId: string;
  /** The supabase-js channel, for anything the helper does not cover. */
  channel: RealtimeChannel;
  /** Leaves the channel and removes it from the client. */
  unsubscribe(): Promise<void>;
}

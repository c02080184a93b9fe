// @ts-check
/**
 * `LearningOrchestrator`: the product document's frontend class (createIntent, generateDayPlan,
 * completeDay, getStatus) with sessions, day.run's progress stream and the learner's events.
 * It calls the API through the caller's supabase-js client (`functions.invoke`), so the
 * session, its refresh and the keys stay supabase-js's business.
 */
/** @import { SupabaseClient } from "@supabase/supabase-js" */
/**
 * @import {
 *   DayDoneRequest, DayDoneResponse, DayRunProgress, DayRunResult, HealthResponse,
 *   IntentSyncRequest, IntentSyncResponse, SessionsQuery, SessionsResponse, SessionSummary,
 *   StatusResponse, DayRunAgentEvent, CalendarLinkResponse, CalendarRevokeResponse, IntentPauseRequest, IntentControlResponse,
 * } from "./types.ts"
 */
/**
 * @import {
 *   CallOptions, DayRunOptions, LearnerEventSubscription, OrchestratorOptions, SessionsOptions,
 *   SubscribeOptions,
 * } from "./options.ts"
 */
import { OrchestratorError, statusOfCode, toOrchestratorError } from "./errors.mjs";
import { subscribeToLearnerEvents } from "./events.mjs";
import { readServerSentEvents } from "./sse.mjs";

/** @typedef {"GET" | "POST" | "DELETE"} Method */

/**
 * @param {unknown} data
 * @param {string} route
 * @returns {Record<string, unknown>}
 */
function expectObject(data, route) {
  if (
    typeof data === "object" && data !== null && !(data instanceof Response)
  ) {
    return /** @type {Record<string, unknown>} */ (data);
  }
  throw new OrchestratorError(`${route} did not answer with JSON.`, {
    status: 200,
    code: "UNEXPECTED_RESPONSE",
  });
}

/**
 * @param {string} text
 * @param {string} what
 * @returns {Record<string, unknown>}
 */
function parseEventData(text, what) {
  try {
    return expectObject(JSON.parse(text), what);
  } catch (cause) {
    if (cause instanceof OrchestratorError) throw cause;
    throw new OrchestratorError(`The ${what} event was not JSON.`, {
      status: 200,
      code: "UNEXPECTED_RESPONSE",
      cause,
    });
  }
}

/** @param {SessionsQuery} query */
function queryString(query) {
  const params = new URLSearchParams();
  if (query.limit !== undefined) params.set("limit", String(query.limit));
  if (query.cursor !== undefined && query.cursor !== null) {
    params.set("cursor", query.cursor);
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

export class LearningOrchestrator {
  #supabase;
  #functionName;
  #userId;

  /**
   * @param {SupabaseClient} supabase A supabase-js client (publishable key and a signed-in
   *   user, or a secret key with `options.userId`).
   * @param {OrchestratorOptions} [options]
   */
  constructor(supabase, options = {}) {
    this.#supabase = supabase;
    this.#functionName = options.functionName ?? "orchestrator";
    this.#userId = options.userId ?? null;
  }

  /**
   * One call through `functions.invoke`; a failure becomes an `OrchestratorError`.
   * @param {string} route
   * @param {{ method: Method, body?: object, accept?: string } & CallOptions} call
   * @returns {Promise<{ data: unknown, response: Response | undefined }>}
   */
  async #invoke(route, call) {
    /** @type {Record<string, string>} */
    const headers = {};
    if (call.accept) headers.accept = call.accept;
    if (call.idempotencyKey) headers["idempotency-key"] = call.idempotencyKey;
    if (this.#userId) headers["x-user-id"] = this.#userId;
    /** @type {{ data: unknown, error: unknown, response?: Response }} */
    let result;
    try {
      result = await this.#supabase.functions.invoke(
        `${this.#functionName}/${route}`,
        {
          method: call.method,
          body: call.body,
          headers,
          signal: call.signal,
        },
      );
    } catch (error) {
      throw await toOrchestratorError(error);
    }
    if (result.error) throw await toOrchestratorError(result.error);
    return { data: result.data, response: result.response };
  }

  /**
   * Creates the learner's active intent (201) or updates it in place when the topic is the
   * same (200). `user_tz` defaults to UTC on the server: pass the browser's zone.
   * @param {IntentSyncRequest} intent
   * @param {CallOptions} [options]
   * @returns {Promise<IntentSyncResponse>}
   */
  async createIntent(intent, options = {}) {
    const { data } = await this.#invoke("intent.sync", {
      method: "POST",
      body: intent,
      ...options,
    });
    return /** @type {IntentSyncResponse} */ (expectObject(
      data,
      "intent.sync",
    ));
  }

  /**
   * The day's plan: stored once per (intent, week, day) and returned as is afterwards. May be
   * provisional (`provisional: true`, `session_id: null`) while another request runs the day.
   * @param {number} week 1–520
   * @param {number} day 1–7
   * @param {DayRunOptions} [options]
   * @returns {Promise<DayRunResult>}
   */
  async generateDayPlan(week, day, options = {}) {
    const { forceRefresh, research, ...call } = options;
    const body = {
      week,
      day,
      force_refresh: forceRefresh ?? false,
      research: research ?? false,
    };
    const { data } = await this.#invoke("day.run", {
      method: "POST",
      body,
      ...call,
    });
    return /** @type {DayRunResult} */ (expectObject(data, "day.run"));
  }

  /**
   * day.run with its progress: yields `{type: "agent"}` as each agent settles, then
   * `{type: "plan"}` with the same body `generateDayPlan` returns. An existing plan yields only
   * `plan`. A run that fails mid-stream throws an `OrchestratorError`. Leaving the loop early
   * closes the stream; the run still finishes and is stored on the server.
   * @param {number} week
   * @param {number} day
   * @param {DayRunOptions} [options]
   * @returns {AsyncGenerator<DayRunProgress, void, undefined>}
   */
  async *runDay(week, day, options = {}) {
    const { forceRefresh, research, ...call } = options;
    const body = {
      week,
      day,
      force_refresh: forceRefresh ?? false,
      research: research ?? false,
    };
    const { data } = await this.#invoke("day.run", {
      method: "POST",
      body,
      accept: "text/event-stream",
      ...call,
    });
    // An idempotent replay may answer with the stored JSON body instead of a stream.
    if (!(data instanceof Response)) {
      yield {
        type: "plan",
        data: /** @type {DayRunResult} */ (expectObject(data, "day.run")),
      };
      return;
    }
    if (!data.body) {
      throw new OrchestratorError("day.run sent an empty stream.", {
        status: data.status,
        code: "UNEXPECTED_RESPONSE",
      });
    }
    for await (const message of readServerSentEvents(data.body)) {
      if (message.event === "agent") {
        const agent = /** @type {DayRunAgentEvent} */ (parseEventData(
          message.data,
          "agent",
        ));
        yield { type: "agent", data: agent };
      } else if (message.event === "plan") {
        const plan = /** @type {DayRunResult} */ (parseEventData(message.data, "plan"));
        yield { type: "plan", data: plan };
        return;
      } else if (message.event === "error") {
        const failure = parseEventData(message.data, "error");
        const code = typeof failure.code === "string" ? failure.code : "INTERNAL";
        throw new OrchestratorError(
          typeof failure.error === "string" ? failure.error : "The plan could not be made.",
          {
            status: statusOfCode(code),
            code: /** @type {"INTERNAL"} */ (code),
          },
        );
      }
    }
    throw new OrchestratorError(
      "The progress stream ended before the plan arrived.",
      {
        status: data.status,
        code: "UNEXPECTED_RESPONSE",
      },
    );
  }

  /**
   * Records (or updates) the completion of a session; answers with the next day's hint.
   * @param {string} sessionId
   * @param {Omit<DayDoneRequest, "session_id">} completion
   * @param {CallOptions} [options]
   * @returns {Promise<DayDoneResponse>}
   */
  async completeDay(sessionId, completion, options = {}) {
    const body = { ...completion, session_id: sessionId };
    const { data } = await this.#invoke("day.done", {
      method: "POST",
      body,
      ...options,
    });
    return /** @type {DayDoneResponse} */ (expectObject(data, "day.done"));
  }

  /**
   * Pauses the active intent from today through `until` (a local date in its `user_tz`, at
   * most 60 days ahead; default: until resumed, at most 60 days). While paused, no plan is
   * pre-generated and the streak is frozen. Pausing again moves the last paused day.
   * @param {IntentPauseRequest} [pause]
   * @param {CallOptions} [options]
   * @returns {Promise<IntentControlResponse>}
   */
  pauseIntent(pause = {}, options = {}) {
    return this.#control("intent.pause", pause, options);
  }

  /**
   * Resumes the paused active intent from today (`changed: false` when it was not paused).
   * @param {CallOptions} [options]
   * @returns {Promise<IntentControlResponse>}
   */
  resumeIntent(options = {}) {
    return this.#control("intent.resume", {}, options);
  }

  /**
   * Ends the active intent; its sessions and completions stay. A later `createIntent` starts
   * a new one.
   * @param {CallOptions} [options]
   * @returns {Promise<IntentControlResponse>}
   */
  cancelIntent(options = {}) {
    return this.#control("intent.cancel", {}, options);
  }

  /**
   * The one shape of the three intent controls: POST a body, get the intent's new state.
   * @param {"intent.pause" | "intent.resume" | "intent.cancel"} route
   * @param {IntentPauseRequest | Record<string, never>} body
   * @param {CallOptions} options
   * @returns {Promise<IntentControlResponse>}
   */
  async #control(route, body, options) {
    const { data } = await this.#invoke(route, { method: "POST", body, ...options });
    return /** @type {IntentControlResponse} */ (expectObject(data, route));
  }

  /**
   * Intent, latest session, signal freshness, next run and stats (streak included).
   * @param {{ signal?: AbortSignal }} [options]
   * @returns {Promise<StatusResponse>}
   */
  async getStatus(options = {}) {
    const { data } = await this.#invoke("status", {
      method: "GET",
      signal: options.signal,
    });
    return /** @type {StatusResponse} */ (expectObject(data, "status"));
  }

  /**
   * One page of sessions, newest first; pass `next_cursor` back as `cursor` for the next.
   * @param {SessionsQuery} [query]
   * @param {{ signal?: AbortSignal }} [options]
   * @returns {Promise<SessionsResponse>}
   */
  async listSessions(query = {}, options = {}) {
    const route = `sessions${queryString(query)}`;
    const { data } = await this.#invoke(route, {
      method: "GET",
      signal: options.signal,
    });
    return /** @type {SessionsResponse} */ (expectObject(data, "sessions"));
  }

  /**
   * Every session, newest first, fetching pages of `limit` as the loop goes.
   * @param {SessionsOptions} [options]
   * @returns {AsyncGenerator<SessionSummary, void, undefined>}
   */
  async *sessions(options = {}) {
    /** @type {string | null} */
    let cursor = null;
    do {
      /** @type {SessionsResponse} */
      const page = await this.listSessions(
        { limit: options.limit, cursor: cursor ?? undefined },
        { signal: options.signal },
      );
      yield* page.sessions;
      cursor = page.next_cursor;
    } while (cursor !== null);
  }

  /**
   * One page of sessions as RFC 4180 CSV (with a header row), and the cursor of the next.
   * @param {SessionsQuery} [query]
   * @param {{ signal?: AbortSignal }} [options]
   * @returns {Promise<{ csv: string, nextCursor: string | null }>}
   */
  async sessionsCsv(query = {}, options = {}) {
    const { data, response } = await this.#invoke(
      `sessions${queryString(query)}`,
      {
        method: "GET",
        accept: "text/csv",
        signal: options.signal,
      },
    );
    if (typeof data !== "string") {
      throw new OrchestratorError("sessions did not answer with CSV.", {
        status: response?.status ?? 200,
        code: "UNEXPECTED_RESPONSE",
      });
    }
    return {
      csv: data,
      nextCursor: response?.headers.get("x-next-cursor") ?? null,
    };
  }

  /**
   * A new secret calendar feed URL (`{url}`, RFC 5545, the next 14 days at the intent's
   * plan_time): subscribe to it in a calendar app, or to its `webcal://` form. Calling it
   * again rotates the link: the previous URL stops working.
   * @param {{ signal?: AbortSignal }} [options]
   * @returns {Promise<CalendarLinkResponse>}
   */
  async calendarLink(options = {}) {
    const { data } = await this.#invoke("calendar.link", {
      method: "POST",
      body: {},
      signal: options.signal,
    });
    return /** @type {CalendarLinkResponse} */ (expectObject(data, "calendar.link"));
  }

  /**
   * Revokes the calendar feed URL (it answers 404 from then on); `revoked: false` when there
   * was none.
   * @param {{ signal?: AbortSignal }} [options]
   * @returns {Promise<CalendarRevokeResponse>}
   */
  async revokeCalendarLink(options = {}) {
    const { data } = await this.#invoke("calendar.link", {
      method: "DELETE",
      signal: options.signal,
    });
    return /** @type {CalendarRevokeResponse} */ (expectObject(data, "calendar.link"));
  }

  /**
   * `{ok, db}`; needs no sign-in. A database outage is an `OrchestratorError` with status 503.
   * @param {{ signal?: AbortSignal }} [options]
   * @returns {Promise<HealthResponse>}
   */
  async health(options = {}) {
    const { data } = await this.#invoke("health", {
      method: "GET",
      signal: options.signal,
    });
    return /** @type {HealthResponse} */ (expectObject(data, "health"));
  }

  /**
   * Listens to the learner's Realtime events (`intent_synced`, `instructor_plan_created`,
   * `day_completed`, `intent_paused`, `intent_resumed`, `intent_cancelled`) until
   * `unsubscribe()`.
   * @param {SubscribeOptions} options
   * @returns {Promise<LearnerEventSubscription>}
   */
  subscribe(options) {
    return subscribeToLearnerEvents(this.#supabase, {
      ...options,
      userId: options.userId ?? this.#userId ?? undefined,
    });
  }
}

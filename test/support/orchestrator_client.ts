/**
 * The one HTTP client of the orchestrator for tests and benchmarks: a call as a learner (or the
 * service) with a bearer token, timed, with the status, the parsed body and the error code, and
 * the request shapes the routes take. A call never throws: no answer within the bound is
 * `status 0, code "timeout"`, a refused connection `status 0` with the error's name.
 */

import { DayRunResponse } from "../../supabase/functions/_shared/responses.ts";

export interface CallResult {
  /** HTTP status; 0 when no response arrived (timeout or network error). */
  status: number;
  /** Wall time from sending to the whole body read, in milliseconds. */
  ms: number;
  // deno-lint-ignore no-explicit-any
  body: any;
  /** `code` of an error body, `timeout`, or the network error's name. */
  code: string | null;
  retryAfter: string | null;
  /** Response body size in bytes. */
  bytes: number;
}

export interface CallOptions {
  /** Bound on the whole call: a hang becomes `status 0, code "timeout"`. @default 30_000 */
  timeoutMs?: number;
  /** Extra request headers (e.g. `Idempotency-Key`). @default none */
  headers?: Record<string, string>;
}

export type Method = "GET" | "POST" | "PUT" | "DELETE" | "PATCH";

/** The intent the benchmarks and the load test sync. */
export const INTENT_BODY = {
  topic: "Machine Learning",
  depth: "informed",
  end_goal: "Build production ML models",
  time_per_day_min: 60,
  user_tz: "America/New_York",
  meta: { plan_time: "07:30" },
} as const;

/** Learning day n (1-based) as week/day: 1..7 → week 1, 8..14 → week 2, … */
export function weekDay(n: number): { week: number; day: number } {
  return { week: Math.floor((n - 1) / 7) + 1, day: ((n - 1) % 7) + 1 };
}

/** A day.done body whose numbers vary with `n`, so repeated completions are not identical. */
export function dayDoneBody(sessionId: string, n = 0) {
  return { session_id: sessionId, completion_time_min: 40 + (n % 30), confidence: 3 + (n % 7) };
}

function parseBody(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

export class OrchestratorClient {
  readonly base: string;
  /** `functionsUrl` is the stack's `…/functions/v1`. */
  constructor(functionsUrl: string) {
    this.base = `${functionsUrl}/orchestrator`;
  }

  async call(
    token: string,
    method: Method,
    route: string,
    body?: unknown,
    options: CallOptions = {},
  ): Promise<CallResult> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      ...options.headers,
    };
    if (body !== undefined) headers["content-type"] = "application/json";
    const started = performance.now();
    try {
      const response = await fetch(`${this.base}/${route}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
      const text = await response.text();
      const parsed = parseBody(text);
      return {
        status: response.status,
        ms: performance.now() - started,
        body: parsed,
        code: response.ok ? null : (parsed as { code?: string } | null)?.code ?? null,
        retryAfter: response.headers.get("retry-after"),
        bytes: text.length,
      };
    } catch (error) {
      const name = error instanceof Error ? error.name : "Error";
      return {
        status: 0,
        ms: performance.now() - started,
        body: null,
        code: name === "TimeoutError" ? "timeout" : name,
        retryAfter: null,
        bytes: 0,
      };
    }
  }
}

/** True for a 2xx answer. */
export function isOk(result: Pick<CallResult, "status">): boolean {
  return result.status >= 200 && result.status < 300;
}

/**
 * The session and revision a day.run answer says are stored (201 created, 200 existing: the
 * `DayRunResponse` body), or null. A 202 is provisional (`provisional.ts`, `session_id: null`):
 * a plan composed while another request runs the day, stored by nobody, so it acknowledges no
 * write.
 */
export function storedRun(result: CallResult): { sessionId: string; revision: number } | null {
  const stored = isOk(result) ? DayRunResponse.safeParse(result.body) : null;
  if (!stored?.success) return null;
  return { sessionId: stored.data.session_id, revision: stored.data.revision };
}

/** `200`, `503 DATABASE_UNAVAILABLE`, `0 timeout`: how outcomes are counted. */
export function outcomeOf(result: CallResult): string {
  if (result.status === 0) return `0 ${result.code}`;
  return result.code ? `${result.status} ${result.code}` : String(result.status);
}

/** Why one agent call (or attempt) failed, in the vocabulary of `wisely.agent_calls.error_code`. */

/**
 * - `timeout`: the attempt's own timer ran out
 * - `deadline`: the run's deadline ran out
 * - `aborted`: the caller cancelled the run
 * - `network`: the request could not be made or its body could not be read
 * - `invalid_payload`: the answer was not JSON, not `{ok: true, data}`, or `data` failed the
 *   agent's schema; or a 304 came back with no valid cached payload to renew
 * - `http_<status>`: the agent answered with any other status
 * - `circuit_open`: the agent's circuit breaker is open (or its one probe is in flight); no
 *   attempt was made
 * - `bulkhead_full`: too many calls to the agent are already in flight or queued; no attempt
 *   was made
 * - `unexpected`: anything else (a bug); the original error is the `cause`
 */
export type AgentErrorCode =
  | "timeout"
  | "deadline"
  | "aborted"
  | "network"
  | "invalid_payload"
  | "circuit_open"
  | "bulkhead_full"
  | "unexpected"
  | `http_${number}`;

export interface AgentCallErrorOptions {
  /** HTTP status of the answer, when there was one. */
  status?: number | null;
  /** What `Retry-After` asked for, in milliseconds. */
  retryAfterMs?: number | null;
  cause?: unknown;
}

export class AgentCallError extends Error {
  readonly code: AgentErrorCode;
  readonly status: number | null;
  readonly retryAfterMs: number | null;

  constructor(code: AgentErrorCode, message: string, options: AgentCallErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "AgentCallError";
    this.code = code;
    this.status = options.status ?? null;
    this.retryAfterMs = options.retryAfterMs ?? null;
  }
}

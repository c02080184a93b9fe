// @ts-check
/**
 * `OrchestratorError`: every failed call, whatever failed, as one error with the API's `code`,
 * the HTTP `status`, the `details` of a validation failure and `retryAfter` (seconds), instead
 * of supabase-js's bare "Edge Function returned a non-2xx status code".
 */
/** @import { ApiErrorCode, ErrorDetail } from "./types.ts" */

/**
 * Codes the SDK adds for failures the API did not describe itself:
 * - `NETWORK_ERROR`: the request never got an answer (status 0);
 * - `ABORTED`: the caller's AbortSignal fired (status 0);
 * - `RELAY_ERROR`: Supabase's relay could not reach the function;
 * - `UNEXPECTED_RESPONSE`: an answer that is not the API's (a proxy's HTML page, a cut stream);
 * - `REALTIME_ERROR`: the learner's event channel could not be joined.
 * @typedef {"NETWORK_ERROR" | "ABORTED" | "RELAY_ERROR" | "UNEXPECTED_RESPONSE"
 *   | "REALTIME_ERROR"} ClientErrorCode
 */

/**
 * @typedef {object} OrchestratorErrorInit
 * @property {number} status HTTP status; 0 when no answer arrived.
 * @property {ApiErrorCode | ClientErrorCode} code
 * @property {ErrorDetail[]} [details] Which fields were wrong (400 `INVALID_REQUEST`).
 * @property {number | null} [retryAfter] Seconds to wait before trying again (429, 503, 202).
 * @property {unknown} [cause]
 */

export class OrchestratorError extends Error {
  /**
   * @param {string} message A sentence for humans (the API's own `error` when it gave one).
   * @param {OrchestratorErrorInit} init
   */
  constructor(message, init) {
    super(message, { cause: init.cause });
    this.name = "OrchestratorError";
    /** HTTP status; 0 when no answer arrived. */
    this.status = init.status;
    /** The API's code (`INVALID_REQUEST`, `RATE_LIMITED`, …) or one of the SDK's own. */
    this.code = init.code;
    /** Field paths and messages of a validation failure; empty otherwise. */
    this.details = init.details ?? [];
    /** Seconds to wait before retrying (from `Retry-After`), or null. */
    this.retryAfter = init.retryAfter ?? null;
  }
}

/** HTTP statuses of the codes an SSE `error` event can carry (the stream itself was a 200). */
const STATUS_OF_CODE = /** @type {Record<string, number>} */ ({
  DATABASE_UNAVAILABLE: 503,
  RATE_LIMITED: 429,
  NO_ACTIVE_INTENT: 409,
  INTERNAL: 500,
});

/** The HTTP status an API error code stands for, when it arrives outside a response status. */
export function statusOfCode(/** @type {string} */ code) {
  return STATUS_OF_CODE[code] ?? 500;
}

/**
 * Seconds until a retry from a `Retry-After` value: delay-seconds or an HTTP date (RFC 9110).
 * @param {string | null} value
 * @param {number} [now] milliseconds since the epoch
 * @returns {number | null}
 */
export function parseRetryAfter(value, now = Date.now()) {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  // An HTTP date names its weekday and month in letters; anything else is not one.
  if (!/^[A-Za-z]{3},? /.test(text)) return null;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * `details` as the API sends them, keeping only well-formed entries.
 * @param {unknown} value
 * @returns {ErrorDetail[]}
 */
function parseDetails(value) {
  if (!Array.isArray(value)) return [];
  /** @type {ErrorDetail[]} */
  const details = [];
  for (const item of value) {
    if (typeof item !== "object" || item === null) continue;
    const { path, message } = /** @type {{ path?: unknown, message?: unknown }} */ (item);
    if (!Array.isArray(path) || typeof message !== "string") continue;
    const parts = path.filter((p) => typeof p === "string" || typeof p === "number");
    details.push({ path: parts, message });
  }
  return details;
}

/**
 * The API's error body `{error, code, details?}`, or null when the text is something else.
 * @param {string} text
 * @returns {{ error: string, code: string, details: ErrorDetail[] } | null}
 */
export function parseErrorBody(text) {
  /** @type {unknown} */
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof body !== "object" || body === null) return null;
  const { error, code, details } = /** @type {Record<string, unknown>} */ (body);
  if (
    typeof error !== "string" || typeof code !== "string" ||
    !/^[A-Z_]+$/.test(code)
  ) {
    return null;
  }
  return { error, code, details: parseDetails(details) };
}

/**
 * An error from a failed HTTP answer: the API's body when it is one, else a sentence naming
 * the status. Reads (and so releases) the body.
 * @param {Response} response
 * @param {unknown} [cause]
 */
export async function errorFromResponse(response, cause) {
  const retryAfter = parseRetryAfter(response.headers.get("retry-after"));
  const text = await response.text().catch(() => "");
  const body = parseErrorBody(text);
  if (body === null) {
    const statusText = response.statusText ? ` ${response.statusText}` : "";
    return new OrchestratorError(
      `The server answered ${response.status}${statusText}.`,
      {
        status: response.status,
        code: "UNEXPECTED_RESPONSE",
        retryAfter,
        cause,
      },
    );
  }
  return new OrchestratorError(body.error, {
    status: response.status,
    code: /** @type {ApiErrorCode} */ (body.code),
    details: body.details,
    retryAfter,
    cause,
  });
}

/** @param {unknown} value */
function isAbort(value) {
  return value instanceof Error &&
    (value.name === "AbortError" || value.name === "TimeoutError");
}

/**
 * What `functions.invoke` returned as `error`, as an `OrchestratorError`. functions-js's
 * classes are recognised by name, so the SDK needs no import of supabase-js at run time.
 * @param {unknown} error
 * @returns {Promise<OrchestratorError>}
 */
export async function toOrchestratorError(error) {
  if (error instanceof OrchestratorError) return error;
  const name = error instanceof Error ? error.name : "";
  const context = error instanceof Error
    ? /** @type {{ context?: unknown }} */ (error).context
    : null;
  if (name === "FunctionsHttpError" && context instanceof Response) {
    return await errorFromResponse(context, error);
  }
  if (name === "FunctionsRelayError") {
    const status = context instanceof Response ? context.status : 0;
    await (context instanceof Response ? context.body?.cancel() : undefined);
    return new OrchestratorError(
      "The Supabase relay could not reach the function.",
      {
        status,
        code: "RELAY_ERROR",
        cause: error,
      },
    );
  }
  if (isAbort(error) || isAbort(context)) {
    return new OrchestratorError("The request was cancelled.", {
      status: 0,
      code: "ABORTED",
      cause: error,
    });
  }
  return new OrchestratorError(
    "Could not reach the server. Check the connection and try again.",
    { status: 0, code: "NETWORK_ERROR", cause: error },
  );
}

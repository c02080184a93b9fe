/**
 * The reference agents' answers (spec 6.2): JSON bodies, and the protocol's error body
 * `{ok: false, error, code}`, which differs from the orchestrator's own `{error, code}`. Every
 * answer carries the shared CORS headers.
 */
import type { ApiError, ErrorCode, ErrorDetail } from "../../errors.ts";
import { withCors } from "../../http/cors.ts";

/** The codes an agent answers with: the API's vocabulary plus the two only agents use. */
export type AgentErrorCode = ErrorCode | "INJECTED_FAULT" | "CLIENT_CLOSED_REQUEST";

export function agentJson(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return withCors(
    new Response(JSON.stringify(body), {
      status,
      headers: { "Content-Type": "application/json", ...headers },
    }),
  );
}

/** `{ok: false, error, code}`, the protocol's error body. */
export function agentFailure(
  status: number,
  code: AgentErrorCode,
  error: string,
  headers: Record<string, string> = {},
): Response {
  return agentJson(status, { ok: false, error, code }, headers);
}

/**
 * The protocol's answer to an `ApiError` thrown by the shared readers and checks (body
 * limits, validation, credentials, routing): its status, code and headers (`Allow`,
 * `WWW-Authenticate`). The agent body has no `details`, so the first few are folded into the
 * sentence: `The fault plan is not valid: steps.0.count: Too small; …`.
 */
export function agentFailureOf(error: ApiError): Response {
  const message = error.details?.length
    ? `${error.message}: ${describeDetails(error.details)}`
    : error.message;
  return agentFailure(
    error.status,
    error.code,
    message,
    Object.fromEntries(new Headers(error.headers)),
  );
}

/** `path: message; …` for the first five details; the body itself is `(body)`. */
function describeDetails(details: readonly ErrorDetail[]): string {
  return details
    .slice(0, 5)
    .map((detail) => `${detail.path.join(".") || "(body)"}: ${detail.message}`)
    .join("; ");
}

/** The answer to anything unexpected: a 500 that says nothing about the cause. */
export function agentInternalError(): Response {
  return agentFailure(500, "INTERNAL", "The agent failed unexpectedly.");
}

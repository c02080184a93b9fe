/**
 * Applying an injected fault (`faults.ts`) to one protocol call: the wait (latency, then hang),
 * the error status, the `Retry-After` header and the malformed payload.
 */
import { withCors } from "../../http/cors.ts";
import { sleep, untilAborted } from "../deadline.ts";
import type { Fault } from "./faults.ts";
import { agentFailure, agentJson } from "./replies.ts";

/** Statuses whose responses cannot have a body. */
const NULL_BODY_STATUSES = new Set([204, 205, 304]);

/** The headers every answer under `fault` carries: its `Retry-After`, if it names one. */
export function faultHeaders(fault: Fault | null): Record<string, string> {
  return fault?.retry_after === undefined ? {} : { "Retry-After": String(fault.retry_after) };
}

/**
 * Waits out the fault's latency, then its hang. Returns the 499 to send when the client went
 * away meanwhile (or `closing` aborted: the stack is stopping), else null: go on answering.
 */
export async function injectedDelay(
  fault: Fault | null,
  request: Request,
  closing?: AbortSignal,
): Promise<Response | null> {
  if (!fault?.latency_ms && !fault?.hang) return null;
  const gone = closing ? AbortSignal.any([request.signal, closing]) : request.signal;
  try {
    if (fault.latency_ms) await sleep(fault.latency_ms, gone);
    if (fault.hang) await untilAborted(gone);
  } catch {
    // The client went away (or the stack is stopping) during the injected delay.
  }
  if (!gone.aborted) return null;
  return agentFailure(499, "CLIENT_CLOSED_REQUEST", "The client closed the request.");
}

/** The fault's status as the whole answer (bodiless where HTTP says so); null for none or 200. */
export function injectedStatus(
  fault: Fault | null,
  headers: Record<string, string>,
): Response | null {
  if (fault?.status === undefined || fault.status === 200) return null;
  if (NULL_BODY_STATUSES.has(fault.status)) {
    return withCors(new Response(null, { status: fault.status, headers }));
  }
  return agentFailure(fault.status, "INJECTED_FAULT", "Injected fault.", headers);
}

/** A 200 whose payload fails the protocol: JSON failing every agent's schema, or not JSON. */
export function malformedAnswer(
  kind: Fault["malformed"],
  headers: Record<string, string>,
): Response {
  if (kind === "json") {
    return withCors(
      new Response('{"ok": true, "data": {"truncated', {
        status: 200,
        headers: { "Content-Type": "application/json", ...headers },
      }),
    );
  }
  return agentJson(200, { ok: true, data: { malformed: true } }, {
    ETag: '"malformed"',
    ...headers,
  });
}

/** W3C Trace Context: continue the caller's trace or start one. */
import { toHex } from "../hex.ts";

export interface TraceContext {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** 16 lowercase hex digits: this hop's span. */
  spanId: string;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

function randomHex(bytes: number): string {
  return toHex(crypto.getRandomValues(new Uint8Array(bytes)));
}

export function newSpanId(): string {
  const id = randomHex(8);
  return id === "0000000000000000" ? "0000000000000001" : id; // all zeros is invalid
}

/** Reads `traceparent` when it is well formed (and not all zeros), else starts a new trace. */
export function traceFrom(headers: Headers): TraceContext {
  const match = TRACEPARENT.exec(headers.get("traceparent")?.trim().toLowerCase() ?? "");
  const traceId = match && !/^0+$/.test(match[1]) ? match[1] : randomHex(16);
  return { traceId, spanId: newSpanId() };
}

/** The header value for a new child span (sampled) of the trace `traceId`. */
export function traceparent(traceId: string, spanId = newSpanId()): string {
  return `00-${traceId}-${spanId}-01`;
}

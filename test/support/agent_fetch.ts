/**
 * An in-memory `fetch` for agent-client tests: routes requests by exact URL to handlers (such as
 * reference agents' `fetch`), records what was sent, and behaves like the real `fetch` on abort
 * (rejects with the signal's reason) and on an unknown host (rejects with a `TypeError`). No
 * sockets.
 */
import type { AgentRequest } from "../../supabase/functions/_shared/agents/protocol.ts";

export type Handler = (request: Request) => Response | Promise<Response>;

export interface RecordedCall {
  url: string;
  method: string;
  headers: Headers;
  body: string;
  /** `performance.now()` when the request was made. */
  startedAt: number;
  /** `performance.now()` when the handler answered (null while pending or when aborted). */
  answeredAt: number | null;
}

export interface RoutedFetch {
  fetch: typeof fetch;
  calls: RecordedCall[];
  /** Calls made to `url`. */
  callsTo(url: string): RecordedCall[];
}

export function routedFetch(routes: Record<string, Handler>): RoutedFetch {
  const calls: RecordedCall[] = [];
  const fakeFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const call: RecordedCall = {
      url: request.url,
      method: request.method,
      headers: new Headers(request.headers),
      body: await request.clone().text(),
      startedAt: performance.now(),
      answeredAt: null,
    };
    calls.push(call);
    const handler = routes[request.url];
    if (!handler) throw new TypeError(`error sending request for url (${request.url})`);
    request.signal.throwIfAborted();
    return await new Promise<Response>((resolve, reject) => {
      const onAbort = () => reject(request.signal.reason);
      request.signal.addEventListener("abort", onAbort, { once: true });
      Promise.resolve(handler(request)).then((response) => {
        request.signal.removeEventListener("abort", onAbort);
        call.answeredAt = performance.now();
        resolve(response);
      }, (error) => {
        request.signal.removeEventListener("abort", onAbort);
        reject(error);
      });
    });
  };
  return {
    fetch: fakeFetch,
    calls,
    callsTo: (url) => calls.filter((call) => call.url === url),
  };
}

/** `handler`, with the reference agents' `X-Wisely-Fault` header added to every request. */
export function withFault(handler: Handler, fault: Record<string, unknown>): Handler {
  return (request) => {
    const headers = new Headers(request.headers);
    headers.set("X-Wisely-Fault", JSON.stringify(fault));
    return handler(new Request(request, { headers }));
  };
}

/** A handler answering `status` with a JSON body (and optional headers). */
export function scripted(status: number, body: unknown, headers: HeadersInit = {}): Handler {
  return () =>
    new Response(body === null ? null : JSON.stringify(body), {
      status,
      headers: { "Content-Type": "application/json", ...Object.fromEntries(new Headers(headers)) },
    });
}

/** A valid agent request (spec 6.2), shared by the client and policy tests. */
export const SAMPLE_AGENT_REQUEST: AgentRequest = {
  user_id: "3f0c5a8e-9b1d-4c2e-8f7a-1b2c3d4e5f60",
  intent: {
    id: "7d9e8f10-2a3b-4c5d-9e6f-708192a3b4c5",
    topic: "Linear algebra",
    depth: "informed",
    end_goal: "Understand the maths behind machine learning papers",
    time_per_day_min: 30,
    user_tz: "UTC",
  },
  week: 3,
  day: 5,
  research: false,
  history: {
    completed_sessions: 16,
    last_confidence: 6,
    last_completion_time_min: 28,
    last_hint: null,
  },
};

/**
 * An in-memory `fetch` for agent-client tests: routes requests by exact URL to handlers (such as
 * reference agents' `fetch`), records what was sent, and behaves like the real `fetch` on abort
 * (rejects with the signal's reason) and on an unknown host (rejects with a `TypeError`). No
 * sockets.
 */

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

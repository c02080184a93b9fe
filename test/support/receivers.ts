/**
 * Webhook receivers on 127.0.0.1 for the webhook tests: each records every request it gets
 * (headers, body, when) and answers as its behaviour says — 200; 500 for the first n then 200;
 * always 500; a 302 elsewhere; or holding the request open until released (or the sender
 * gives up). `until` is the bounded poll the tests wait with.
 */

export type Behaviour =
  | { kind: "ok" }
  | { kind: "fail_first"; times: number }
  | { kind: "status"; status: number }
  | { kind: "redirect"; location: string }
  | { kind: "hang" };

export interface ReceivedRequest {
  headers: Headers;
  body: string;
  /** `performance.now()` when the request arrived. */
  at: number;
}

export interface Receiver {
  /** `http://127.0.0.1:<port>/hook`. */
  url: string;
  /** Every request, in arrival order. */
  received: ReceivedRequest[];
  /** Requests that arrived and have not been answered yet (hanging ones). */
  open(): number;
  /** Answers every held request with 200. */
  release(): void;
  stop(): Promise<void>;
}

function respond(behaviour: Behaviour, count: number): Response {
  switch (behaviour.kind) {
    case "ok":
      return new Response("thanks");
    case "fail_first":
      return count <= behaviour.times
        ? new Response("not yet", { status: 500 })
        : new Response("thanks");
    case "status":
      return new Response(`status ${behaviour.status}`, { status: behaviour.status });
    case "redirect":
      return new Response(null, { status: 302, headers: { location: behaviour.location } });
    case "hang":
      throw new Error("hang is answered by release()");
  }
}

export function startReceiver(behaviour: Behaviour): Receiver {
  const received: ReceivedRequest[] = [];
  const held = new Set<() => void>();
  let open = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = await req.text();
    received.push({ headers: req.headers, body, at: performance.now() });
    if (behaviour.kind !== "hang") return respond(behaviour, received.length);
    open++;
    try {
      await new Promise<void>((resolve) => {
        held.add(resolve);
        req.signal.addEventListener("abort", () => resolve(), { once: true });
      });
    } finally {
      open--;
    }
    return new Response("late");
  });
  const release = () => {
    for (const resolve of held) resolve();
    held.clear();
  };
  return {
    url: `http://127.0.0.1:${server.addr.port}/hook`,
    received,
    open: () => open,
    release,
    async stop() {
      release();
      await server.shutdown();
    },
  };
}

/** Polls `check` every 25 ms until it holds; fails naming `what` after `timeoutMs`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

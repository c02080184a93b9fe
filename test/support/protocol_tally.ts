/**
 * A TCP proxy in front of Postgres that counts the frontend's protocol messages by type
 * (`P` Parse, `B` Bind, `D` Describe, `E` Execute, `H` Flush, `S` Sync, `Q` Query, …), so a test
 * can assert on round trips without timing anything. The startup packet (no type byte) and an
 * SSLRequest are passed through uncounted. `holdReplies` keeps the server's answers back until
 * the client has ended more batches (a Sync, or a simple Query, is answered with ReadyForQuery):
 * what a client sends before it has any answer is pipelined.
 */

export interface FrontendTally {
  /** Messages of this type since the last reset. */
  count(type: string): number;
  reset(): void;
}

export interface TallyProxy {
  port: number;
  tally: FrontendTally;
  /**
   * Holds the server's answers until the client has ended `batches` more batches ("sent"), or
   * for at most `timeoutMs` ("timed out": the client waited for an answer first). Then releases
   * them.
   */
  holdReplies(batches: number, timeoutMs: number): Promise<"sent" | "timed out">;
  close(): Promise<void>;
}

/** Server-to-client bytes kept back while a hold is on. */
class ReplyHold {
  #until: { batches: number; resolve: (how: "sent" | "timed out") => void } | null = null;
  #waiting: (() => void)[] = [];

  hold(target: number, timeoutMs: number): Promise<"sent" | "timed out"> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#release("timed out"), timeoutMs);
      this.#until = {
        batches: target,
        resolve: (how) => {
          clearTimeout(timer);
          resolve(how);
        },
      };
    });
  }

  /** Called with the client's batch count after each of its chunks. */
  observe(batches: number) {
    if (this.#until && batches >= this.#until.batches) this.#release("sent");
  }

  /** Resolves once no hold is on. */
  passage(): Promise<void> {
    return this.#until ? new Promise((resolve) => this.#waiting.push(resolve)) : Promise.resolve();
  }

  #release(how: "sent" | "timed out") {
    const until = this.#until;
    this.#until = null;
    until?.resolve(how);
    for (const go of this.#waiting.splice(0)) go();
  }
}

/** Splits the frontend's byte stream into typed messages and counts them. */
function frontendCounter(counts: Map<string, number>) {
  let buffered = new Uint8Array(0);
  let started = false;
  return (chunk: Uint8Array) => {
    const joined = new Uint8Array(buffered.length + chunk.length);
    joined.set(buffered);
    joined.set(chunk, buffered.length);
    const view = new DataView(joined.buffer);
    let at = 0;
    for (;;) {
      if (!started) {
        if (joined.length - at < 4) break;
        const length = view.getInt32(at);
        if (joined.length - at < length) break;
        const code = length >= 8 ? view.getInt32(at + 4) : 0;
        started = code !== 80877103; // an SSLRequest is followed by the real startup packet
        at += length;
        continue;
      }
      if (joined.length - at < 5) break;
      const length = view.getInt32(at + 1);
      if (joined.length - at < 1 + length) break;
      const type = String.fromCharCode(joined[at]);
      counts.set(type, (counts.get(type) ?? 0) + 1);
      at += 1 + length;
    }
    buffered = joined.slice(at);
  };
}

async function pipe(
  from: Deno.Conn,
  to: Deno.Conn,
  observe: (chunk: Uint8Array) => void | Promise<void>,
) {
  const buffer = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      const n = await from.read(buffer);
      if (n === null) break;
      const chunk = buffer.subarray(0, n);
      await observe(chunk);
      let written = 0;
      while (written < n) written += await to.write(chunk.subarray(written));
    }
  } catch {
    // Either side closed: the other is closed below.
  } finally {
    try {
      to.close();
    } catch {
      // already closed
    }
  }
}

/** Starts the proxy on a free loopback port, forwarding to `host:port`. */
export function startTallyProxy(host: string, port: number): TallyProxy {
  const counts = new Map<string, number>();
  const hold = new ReplyHold();
  const count = frontendCounter(counts);
  const batches = () => (counts.get("S") ?? 0) + (counts.get("Q") ?? 0);
  const fromClient = (chunk: Uint8Array) => {
    count(chunk);
    hold.observe(batches());
  };
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const piping: Promise<unknown>[] = [];
  const accepting = (async () => {
    for await (const client of listener) {
      const server = await Deno.connect({ hostname: host, port });
      piping.push(pipe(client, server, fromClient), pipe(server, client, () => hold.passage()));
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    tally: { count: (type) => counts.get(type) ?? 0, reset: () => counts.clear() },
    holdReplies: (more, timeoutMs) => hold.hold(batches() + more, timeoutMs),
    close: async () => {
      listener.close();
      await accepting;
      await Promise.all(piping);
    },
  };
}

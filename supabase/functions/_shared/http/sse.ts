/**
 * Server-Sent Events. A stream whose client went away is closed for writing, but the producer
 * keeps running: work the client started (a day.run) is finished and stored regardless.
 */

export interface EventStream {
  /** Sends one event; a no-op once the client is gone. */
  send(event: string, data: unknown): void;
  /** Ends the stream (idempotent). */
  close(): void;
  readonly response: Response;
}

export function wantsEventStream(req: Request): boolean {
  return (req.headers.get("accept") ?? "").toLowerCase().includes("text/event-stream");
}

/** Serialises one event: `data` lines never contain a raw newline, so JSON is safe as is. */
export function formatEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function createEventStream(headers?: HeadersInit): EventStream {
  const encoder = new TextEncoder();
  let controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  let open = true;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      open = false;
    },
  });
  const response = new Response(body, { status: 200, headers });
  response.headers.set("Content-Type", "text/event-stream; charset=utf-8");
  response.headers.set("Cache-Control", "no-cache, no-transform");
  response.headers.set("X-Accel-Buffering", "no");
  return {
    response,
    send(event, data) {
      if (!open || !controller) return;
      try {
        controller.enqueue(encoder.encode(formatEvent(event, data)));
      } catch {
        open = false;
      }
    },
    close() {
      if (!open || !controller) return;
      open = false;
      try {
        controller.close();
      } catch {
        // Already closed by the runtime.
      }
    },
  };
}

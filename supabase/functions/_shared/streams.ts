/** Reading bodies without trusting their size, their pace or the connection under them. */

/** The body did not arrive within `timeoutMs` of the first read (see `withReadTimeout`). */
export class BodyReadTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`The body did not arrive within ${timeoutMs} ms.`);
    this.name = "BodyReadTimeout";
  }
}

/**
 * Reading the body failed under us: the client closed or reset the connection, or broke its
 * framing (a truncated chunked body). The runtime's own error is the `cause`.
 */
export class BodyReadAborted extends Error {
  constructor(cause: unknown) {
    super("The body could not be read to its end.", { cause });
    this.name = "BodyReadAborted";
  }
}

/**
 * Reads a stream to the end, or stops and cancels it once more than `maxBytes` arrived:
 * returns null then, having buffered at most `maxBytes` plus one chunk. A read that fails
 * rejects with `BodyReadTimeout` (from `withReadTimeout`) or `BodyReadAborted`.
 */
export async function readAtMost(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
): Promise<Uint8Array<ArrayBuffer> | null> {
  if (!body) return new Uint8Array();
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let next: ReadableStreamReadResult<Uint8Array>;
    try {
      next = await reader.read();
    } catch (error) {
      await reader.cancel().catch(() => {});
      throw error instanceof BodyReadTimeout ? error : new BodyReadAborted(error);
    }
    if (next.done) break;
    size += next.value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(next.value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/**
 * `body`, failing with `BodyReadTimeout` unless all of it has arrived within `timeoutMs` of the
 * first read: a client that stalls (or drips a byte now and then) cannot hold a request, and
 * the isolate's memory and wall clock, open. Nothing starts until someone reads, so a body
 * nobody reads costs no timer, and every timer is cleared when its read settles.
 */
export function withReadTimeout(
  body: ReadableStream<Uint8Array>,
  timeoutMs: number,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let deadlineAt: number | null = null;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      deadlineAt ??= performance.now() + timeoutMs;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        const left = Math.max(0, deadlineAt! - performance.now());
        timer = setTimeout(() => reject(new BodyReadTimeout(timeoutMs)), left);
      });
      try {
        const next = await Promise.race([reader.read(), timedOut]);
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      } catch (error) {
        // Stop the transfer under us too: nobody will read the rest.
        if (error instanceof BodyReadTimeout) reader.cancel(error).catch(() => {});
        controller.error(error);
      } finally {
        clearTimeout(timer);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

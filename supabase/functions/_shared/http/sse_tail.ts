/**
 * A reader of text/event-stream responses (the writer is sse.ts): follows a stream and keeps
 * its last complete event, which is what an SSE response is stored as under an Idempotency-Key.
 */

export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Follows a text/event-stream and keeps its last complete event (the one a stored SSE
 * response is made of). Refuses to hold an event larger than `maxEventChars`.
 */
export class SseTail {
  #buffer = "";
  #last: SseEvent | null = null;
  #overflow = false;

  constructor(readonly maxEventChars = 1024 * 1024) {}

  push(text: string): void {
    if (this.#overflow) return;
    this.#buffer += text.replaceAll("\r\n", "\n").replaceAll("\r", "\n");
    let end: number;
    while ((end = this.#buffer.indexOf("\n\n")) !== -1) {
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      this.#take(block);
    }
    if (this.#buffer.length > this.maxEventChars) this.#overflow = true;
  }

  #take(block: string): void {
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line === "" || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length > 0) this.#last = { event, data: data.join("\n") };
  }

  /** The last complete event, or null (none, or one was too large to follow). */
  last(): SseEvent | null {
    return this.#overflow ? null : this.#last;
  }
}

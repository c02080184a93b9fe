// @ts-check
/**
 * A Server-Sent Events reader (the WHATWG event-stream format): bytes in, `{event, data}`
 * messages out, as an async iterator. Chunks may split lines, line endings (`\r\n`) and UTF-8
 * characters anywhere. Leaving the loop early cancels the stream.
 */

/**
 * @typedef {object} ServerSentEvent
 * @property {string} event The `event:` field; `message` when the stream gave none.
 * @property {string} data The `data:` lines joined with `\n`.
 * @property {string | null} id The last `id:` seen, or null.
 */

/** Parser state for one stream: fields of the event being read. */
class EventBuilder {
  event = "";
  /** @type {string[]} */
  data = [];
  /** @type {string | null} */
  id = null;

  /**
   * Takes one line; returns the event a blank line completes, else null.
   * @param {string} line
   * @returns {ServerSentEvent | null}
   */
  line(line) {
    if (line === "") return this.#dispatch();
    if (line.startsWith(":")) return null; // a comment (keep-alive)
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id" && !value.includes("\0")) this.id = value;
    // `retry` and unknown fields are ignored: the SDK does not reconnect a day.run.
    return null;
  }

  /** @returns {ServerSentEvent | null} */
  #dispatch() {
    const message = this.data.length === 0 ? null : {
      event: this.event || "message",
      data: this.data.join("\n"),
      id: this.id,
    };
    this.event = "";
    this.data = [];
    return message;
  }
}

/**
 * Splits complete lines off `buffer`. A trailing `\r` stays in the rest: the next chunk may
 * start with the `\n` of the same line ending.
 * @param {string} buffer
 * @returns {{ lines: string[], rest: string }}
 */
export function splitLines(buffer) {
  const lines = [];
  let start = 0;
  for (let i = 0; i < buffer.length; i++) {
    const c = buffer[i];
    if (c !== "\n" && c !== "\r") continue;
    if (c === "\r" && i === buffer.length - 1) break;
    lines.push(buffer.slice(start, i));
    if (c === "\r" && buffer[i + 1] === "\n") i++;
    start = i + 1;
  }
  return { lines, rest: buffer.slice(start) };
}

/**
 * The events of a `text/event-stream` body, in order. An event left incomplete when the
 * stream ends is dropped, as the standard says.
 * @param {ReadableStream<Uint8Array>} body
 * @returns {AsyncGenerator<ServerSentEvent, void, undefined>}
 */
export async function* readServerSentEvents(body) {
  const reader = body.getReader();
  // One decoder for the whole stream: a character split across chunks is decoded whole, and a
  // leading byte order mark is dropped, as the standard says.
  const decoder = new TextDecoder();
  const builder = new EventBuilder();
  let buffer = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      const { lines, rest } = splitLines(buffer);
      buffer = rest;
      for (const line of lines) {
        const message = builder.line(line);
        if (message) yield message;
      }
    }
    // The stream ended: a final `\r` ends its line (a `\n` added makes it one line ending).
    buffer += decoder.decode();
    const { lines } = splitLines(
      buffer.endsWith("\r") ? `${buffer}\n` : buffer,
    );
    for (const line of lines) {
      const message = builder.line(line);
      if (message) yield message;
    }
  } finally {
    // Early exit (break, throw) or normal end: either way nothing more will be read.
    await reader.cancel().catch(() => {});
  }
}

/**
 * HTTP/1.1 over a bare TCP connection, for what `fetch` will not send: methods it forbids
 * (`TRACE`), a body that stops half way, a client that hangs up mid-upload.
 */

export interface RawResponse {
  status: number;
  /** Lowercase names. */
  headers: Headers;
  body: string;
}

export interface RawConnection {
  /** Writes text as is (CRLFs included). */
  write(text: string): Promise<void>;
  /**
   * Reads one response: head, then `Content-Length` bytes (none for HEAD) or until the server
   * closes. Rejects after `timeoutMs` (a hang guard, default 20 s).
   */
  readResponse(options?: { head?: boolean; timeoutMs?: number }): Promise<RawResponse>;
  close(): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function parseHead(head: string): { status: number; headers: Headers } {
  const [statusLine, ...lines] = head.split("\r\n");
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!match) throw new Error(`not an HTTP response: ${statusLine}`);
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return { status: Number(match[1]), headers };
}

/** Reads one response off `conn` (see `readResponse`). */
async function readOne(conn: Deno.Conn, head: boolean): Promise<RawResponse> {
  let buffer = new Uint8Array(0);
  const chunk = new Uint8Array(16 * 1024);
  const append = (n: number) => {
    const next = new Uint8Array(buffer.length + n);
    next.set(buffer);
    next.set(chunk.subarray(0, n), buffer.length);
    buffer = next;
  };
  let headEnd = -1;
  let parsed: { status: number; headers: Headers } | null = null;
  for (;;) {
    if (parsed === null) {
      headEnd = decoder.decode(buffer).indexOf("\r\n\r\n");
      if (headEnd !== -1) parsed = parseHead(decoder.decode(buffer).slice(0, headEnd));
    }
    if (parsed !== null) {
      const length = Number(parsed.headers.get("content-length") ?? "NaN");
      const body = decoder.decode(buffer).slice(headEnd + 4);
      if (head || (Number.isFinite(length) && encoder.encode(body).length >= length)) {
        return { ...parsed, body: head ? "" : body };
      }
    }
    const n = await conn.read(chunk).catch(() => null);
    if (n === null) {
      if (parsed === null) throw new Error("the server closed the connection without a reply");
      return { ...parsed, body: decoder.decode(buffer).slice(headEnd + 4) };
    }
    append(n);
  }
}

/** Opens a connection to `url`'s host and port. */
export async function rawConnect(url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch {
      // Already closed by the peer.
    }
  };

  return {
    async write(text) {
      await conn.write(encoder.encode(text));
    },
    async readResponse(options = {}) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const guard = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          close();
          reject(new Error("no response (hang guard)"));
        }, options.timeoutMs ?? 20_000);
      });
      try {
        return await Promise.race([readOne(conn, options.head ?? false), guard]);
      } finally {
        clearTimeout(timer);
      }
    },
    close,
  };
}

/** One request on a fresh connection (`Connection: close`), its response, closed. */
export async function rawRequest(
  url: string,
  method: string,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const { host, pathname, search } = new URL(url);
  const connection = await rawConnect(url);
  try {
    const lines = Object.entries({ Host: host, Connection: "close", ...headers })
      .map(([name, value]) => `${name}: ${value}\r\n`).join("");
    await connection.write(`${method} ${pathname}${search} HTTP/1.1\r\n${lines}\r\n`);
    return await connection.readResponse({ head: method === "HEAD" });
  } finally {
    connection.close();
  }
}

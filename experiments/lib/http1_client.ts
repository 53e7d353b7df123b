/**
 * The load generator's HTTP/1.1 client: keep-alive connections over Deno.connect (or connectTls),
 * one request at a time on each, responses framed by Content-Length, chunked encoding or the end
 * of the connection. Nothing else: no redirects, no compression, no pipelining, no retries.
 *
 * Why not fetch: the load generator shares this 2-core machine with the members it measures, so
 * every microsecond it spends is taken from them. Measured in one run against a 3-node raft-kv
 * cluster (100-byte writes to the leader, closed loop): fetch cost the generator 234-266 µs of
 * CPU per request at 1 client, 122-155 at 8 and 89-113 at 64 (48-54 % of a core), this client
 * 106-119, 44-53 and 27-32 (20-21 % of a core). node:http was no lighter than fetch (262, 130,
 * 73 µs). Every system the benchmarks compare goes through this same client.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A response head larger than this is refused: no server of ours sends one. */
const MAX_HEAD_BYTES = 64 * 1024;
/** A response body larger than this is refused (the largest the benchmarks read is a metrics page). */
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const CRLF_CRLF = [13, 10, 13, 10];

export interface Http1Response {
  status: number;
  /** Header names in lower case; a repeated header keeps its last value. */
  headers: Map<string, string>;
  body: Uint8Array;
}

export interface Http1Options {
  /** PEM certificates to trust for an https:// origin (a local cluster's CA). */
  caCerts?: string[];
}

/** A request that failed: refused, timed out, cut off, or answered with something that is not HTTP/1.1. */
export class Http1Error extends Error {
  override name = "Http1Error";
}

/** One keep-alive connection to one origin; a request at a time. */
export class Http1Connection {
  /** Bytes read and not yet consumed: buf[start, end). */
  #buf = new Uint8Array(16 * 1024);
  #start = 0;
  #end = 0;
  #busy = false;
  #closed = false;

  private constructor(private readonly conn: Deno.Conn, private readonly host: string) {}

  static async open(
    origin: string | URL,
    options: Http1Options = {},
    timeoutMs = 10_000,
  ): Promise<Http1Connection> {
    const url = new URL(origin);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new Http1Error(`only http:// and https:// origins are supported, got ${url.protocol}//`);
    }
    const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    const signal = AbortSignal.timeout(timeoutMs);
    let conn: Deno.Conn;
    try {
      conn = url.protocol === "https:"
        ? await Deno.connectTls(
          { hostname, port, caCerts: options.caCerts, signal } as Deno.ConnectTlsOptions,
        )
        : await Deno.connect({ hostname, port, signal } as Deno.ConnectOptions);
    } catch (error) {
      throw new Http1Error(`cannot connect to ${url.origin}: ${(error as Error).message}`, { cause: error });
    }
    if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
    return new Http1Connection(conn, url.host);
  }

  /** Whether another request may be sent on this connection. */
  get reusable(): boolean {
    return !this.#closed && !this.#busy;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch { /* already closed by the peer */ }
  }

  /**
   * Sends one request and reads its whole response. On any failure (a timeout included) the
   * connection is closed, since where the next response would start is no longer known.
   */
  async request(
    method: string,
    path: string,
    headers: Record<string, string> = {},
    body?: string | Uint8Array,
    timeoutMs = 10_000,
  ): Promise<Http1Response> {
    if (this.#busy) throw new Http1Error("a request is already in flight on this connection (no pipelining)");
    if (!this.reusable) throw new Http1Error("the connection is closed");
    const bytes = serialize(method, path, this.host, headers, body);
    this.#busy = true;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.close();
    }, timeoutMs);
    try {
      let offset = 0;
      while (offset < bytes.length) offset += await this.conn.write(bytes.subarray(offset));
      return await this.#readResponse(method);
    } catch (error) {
      this.close();
      if (timedOut) throw new Http1Error(`${method} ${path}: no response within ${timeoutMs} ms`);
      if (error instanceof Http1Error) throw error;
      throw new Http1Error(`${method} ${path}: ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
      this.#busy = false;
    }
  }

  async #readResponse(method: string): Promise<Http1Response> {
    const headEnd = await this.#readHead();
    const head = decoder.decode(this.#buf.subarray(this.#start, headEnd));
    this.#start = headEnd + 4;
    const lines = head.split("\r\n");
    const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0]);
    if (!statusLine) {
      throw new Http1Error(`not an HTTP/1.x status line: ${JSON.stringify(lines[0].slice(0, 80))}`);
    }
    const status = Number(statusLine[2]);
    const headers = new Map<string, string>();
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i].indexOf(":");
      if (colon <= 0) {
        throw new Http1Error(`malformed response header: ${JSON.stringify(lines[i].slice(0, 80))}`);
      }
      headers.set(lines[i].slice(0, colon).trim().toLowerCase(), lines[i].slice(colon + 1).trim());
    }
    const keepAlive = statusLine[1] === "1"
      ? !/\bclose\b/i.test(headers.get("connection") ?? "")
      : /\bkeep-alive\b/i.test(headers.get("connection") ?? "");
    let body: Uint8Array;
    let reusable = keepAlive;
    if (method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200)) {
      body = new Uint8Array(0);
    } else if (/\bchunked\b/i.test(headers.get("transfer-encoding") ?? "")) {
      body = await this.#readChunked();
    } else if (headers.has("content-length")) {
      const length = Number(headers.get("content-length"));
      if (!Number.isSafeInteger(length) || length < 0) {
        throw new Http1Error(`invalid Content-Length: ${headers.get("content-length")}`);
      }
      body = await this.#readExactly(length);
    } else {
      body = await this.#readToEnd();
      reusable = false; // the end of the connection ended the body
    }
    if (!reusable) this.close();
    return { status, headers, body };
  }

  /** Reads until the blank line that ends the head; returns the index of its CR LF CR LF. */
  async #readHead(): Promise<number> {
    // How far past #start the blank line has been looked for (the buffer may move while filling).
    let scanned = 0;
    for (;;) {
      const at = indexOf(this.#buf, CRLF_CRLF, this.#start + scanned, this.#end);
      if (at >= 0) return at;
      scanned = Math.max(0, this.#end - this.#start - 3);
      if (this.#end - this.#start > MAX_HEAD_BYTES) {
        throw new Http1Error(`response head larger than ${MAX_HEAD_BYTES} bytes`);
      }
      if (!(await this.#fill())) {
        throw new Http1Error(
          this.#end === this.#start
            ? "the server closed the connection without answering"
            : "the server closed the connection in the middle of a response head",
        );
      }
    }
  }

  async #readExactly(length: number): Promise<Uint8Array> {
    if (length > MAX_BODY_BYTES) throw new Http1Error(`response body of ${length} bytes is over the limit`);
    while (this.#end - this.#start < length) {
      if (!(await this.#fill(length - (this.#end - this.#start)))) {
        throw new Http1Error(
          `the server closed the connection after ${this.#end - this.#start} of ${length} body bytes`,
        );
      }
    }
    const body = this.#buf.slice(this.#start, this.#start + length);
    this.#start += length;
    return body;
  }

  async #readChunked(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const line = await this.#readLine();
      const size = parseInt(line.split(";")[0], 16);
      if (!/^[0-9a-fA-F]+/.test(line) || !Number.isSafeInteger(size)) {
        throw new Http1Error(`invalid chunk size line: ${JSON.stringify(line.slice(0, 40))}`);
      }
      if (size === 0) {
        while ((await this.#readLine()) !== ""); // trailers, then the blank line
        break;
      }
      total += size;
      if (total > MAX_BODY_BYTES) throw new Http1Error(`chunked response body over ${MAX_BODY_BYTES} bytes`);
      parts.push(await this.#readExactly(size));
      if ((await this.#readLine()) !== "") throw new Http1Error("a chunk is not followed by CR LF");
    }
    if (parts.length === 1) return parts[0];
    const body = new Uint8Array(total);
    let offset = 0;
    for (const part of parts) {
      body.set(part, offset);
      offset += part.length;
    }
    return body;
  }

  async #readLine(): Promise<string> {
    for (;;) {
      const at = indexOf(this.#buf, [13, 10], this.#start, this.#end);
      if (at >= 0) {
        const line = decoder.decode(this.#buf.subarray(this.#start, at));
        this.#start = at + 2;
        return line;
      }
      if (this.#end - this.#start > MAX_HEAD_BYTES) throw new Http1Error("a chunk line is too long");
      if (!(await this.#fill())) {
        throw new Http1Error("the server closed the connection inside a chunked body");
      }
    }
  }

  async #readToEnd(): Promise<Uint8Array> {
    while (await this.#fill()) {
      if (this.#end - this.#start > MAX_BODY_BYTES) {
        throw new Http1Error(`response body over ${MAX_BODY_BYTES} bytes`);
      }
    }
    const body = this.#buf.slice(this.#start, this.#end);
    this.#start = this.#end;
    return body;
  }

  /** Reads more bytes into the buffer (room for at least `want`); false at the end of the connection. */
  async #fill(want = 1): Promise<boolean> {
    if (this.#start === this.#end) this.#start = this.#end = 0;
    const room = Math.max(want, 4096);
    if (this.#buf.length - this.#end < room) {
      const live = this.#end - this.#start;
      if (live + room > this.#buf.length) {
        const grown = new Uint8Array(Math.max(live + room, this.#buf.length * 2));
        grown.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = grown;
      } else {
        this.#buf.copyWithin(0, this.#start, this.#end);
      }
      this.#start = 0;
      this.#end = live;
    }
    const n = await this.conn.read(this.#buf.subarray(this.#end));
    if (n === null) return false;
    this.#end += n;
    return true;
  }
}

/**
 * Keep-alive connections per origin, each lent to one request at a time: a closed loop of N
 * clients ends up with N connections, as browsers and fetch do. Close it when done.
 */
export class Http1Pool {
  #idle = new Map<string, Http1Connection[]>();
  #all = new Set<Http1Connection>();
  #closed = false;

  constructor(private readonly options: Http1Options = {}) {}

  async request(
    url: string,
    method: string,
    headers: Record<string, string> = {},
    body?: string | Uint8Array,
    timeoutMs = 10_000,
  ): Promise<Http1Response> {
    if (this.#closed) throw new Http1Error("the connection pool is closed");
    const target = new URL(url);
    let conn = this.#idle.get(target.origin)?.pop();
    if (!conn) {
      conn = await Http1Connection.open(target.origin, this.options, timeoutMs);
      if (this.#closed) {
        conn.close();
        throw new Http1Error("the connection pool is closed");
      }
      this.#all.add(conn);
    }
    try {
      return await conn.request(method, target.pathname + target.search, headers, body, timeoutMs);
    } finally {
      if (conn.reusable && !this.#closed) {
        let list = this.#idle.get(target.origin);
        if (!list) this.#idle.set(target.origin, list = []);
        list.push(conn);
      } else {
        conn.close();
        this.#all.delete(conn);
      }
    }
  }

  /** Connections open now (idle or busy). */
  get size(): number {
    return this.#all.size;
  }

  /** Closes every connection, idle or busy: a request still in flight fails. */
  close(): void {
    this.#closed = true;
    for (const conn of this.#all) conn.close();
    this.#all.clear();
    this.#idle.clear();
  }
}

function serialize(
  method: string,
  path: string,
  host: string,
  headers: Record<string, string>,
  body: string | Uint8Array | undefined,
): Uint8Array {
  if (!/^[A-Z]+$/.test(method)) throw new Http1Error(`invalid method: ${JSON.stringify(method)}`);
  if (!path.startsWith("/") || /[\s]/.test(path)) {
    throw new Http1Error(`invalid request path: ${JSON.stringify(path)}`);
  }
  const payload = typeof body === "string" ? encoder.encode(body) : body;
  let head = `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\n`;
  for (const name in headers) {
    const value = headers[name];
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n]/.test(value)) {
      throw new Http1Error(`invalid request header: ${JSON.stringify(`${name}: ${value}`)}`);
    }
    const lower = name.toLowerCase();
    if (lower === "host" || lower === "content-length" || lower === "transfer-encoding") continue;
    head += `${name}: ${value}\r\n`;
  }
  if (payload !== undefined || method === "POST" || method === "PUT") {
    head += `content-length: ${payload?.length ?? 0}\r\n`;
  }
  head += "\r\n";
  const headBytes = encoder.encode(head);
  if (!payload || payload.length === 0) return headBytes;
  const out = new Uint8Array(headBytes.length + payload.length);
  out.set(headBytes);
  out.set(payload, headBytes.length);
  return out;
}

function indexOf(haystack: Uint8Array, needle: number[], from: number, to: number): number {
  const first = needle[0];
  outer: for (
    let i = haystack.indexOf(first, from);
    i >= 0 && i + needle.length <= to;
    i = haystack.indexOf(first, i + 1)
  ) {
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

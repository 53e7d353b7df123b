/** A TCP connection that reads and writes frames, with deadlines so a silent peer cannot stall us. */
import { FrameDecoder } from "./frame.ts";
import type { PeerConn } from "./secure_channel.ts";

/** An operation did not finish in time; the connection has been closed. */
export class TimeoutError extends Error {
  override name = "TimeoutError";
}

export class FramedConnection {
  readonly remote: string;
  #conn: PeerConn;
  #decoder: FrameDecoder;
  #chunk = new Uint8Array(64 * 1024);
  #closed = false;

  constructor(conn: PeerConn, maxFrameBytes: number) {
    this.#conn = conn;
    this.#decoder = new FrameDecoder(maxFrameBytes);
    const address = conn.remoteAddr;
    this.remote = `${address.hostname}:${address.port}`;
    conn.setNoDelay?.(true);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The next decoded frame, or `undefined` at end of stream or once closed.
   * Throws FrameError on a bad frame, TimeoutError if `timeoutMs` passes first.
   */
  async read(timeoutMs?: number): Promise<unknown> {
    while (true) {
      let value: unknown;
      try {
        value = this.#decoder.next();
      } catch (error) {
        this.close();
        throw error;
      }
      if (value !== undefined) return value;
      if (this.#closed) return undefined;
      const n = await this.#deadline(this.#readChunk(), timeoutMs, "read");
      if (n === null) return undefined;
      this.#decoder.push(this.#chunk.subarray(0, n));
    }
  }

  /** Writes all of `bytes`; throws (and closes) on error or when `timeoutMs` passes first. */
  async write(bytes: Uint8Array, timeoutMs?: number): Promise<void> {
    await this.#deadline(this.#writeAll(bytes), timeoutMs, "write");
  }

  /** Idempotent; a pending read returns `undefined`, a pending write throws. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the runtime after an error: nothing left to release.
    }
  }

  async #readChunk(): Promise<number | null> {
    try {
      return await this.#conn.read(this.#chunk);
    } catch (error) {
      if (this.#closed) return null;
      throw error;
    }
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) offset += await this.#conn.write(bytes.subarray(offset));
  }

  async #deadline<T>(operation: Promise<T>, timeoutMs: number | undefined, what: string): Promise<T> {
    if (timeoutMs === undefined) {
      try {
        return await operation;
      } catch (error) {
        this.close();
        throw error;
      }
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new TimeoutError(`${what} on the connection with ${this.remote} took over ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([operation, expired]);
    } catch (error) {
      // Closing also settles `operation`, so no read or write is left pending on a dead socket.
      this.close();
      await operation.catch(() => undefined);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * A node:tls socket seen through the small part of Deno.Conn the peer transport uses (read into
 * a buffer, write, close, remote address), so frames travel the same way over TCP and over TLS.
 */
import type tls from "node:tls";
import type { PeerConn } from "../transport/mod.ts";

export class TlsSocketStream implements PeerConn {
  readonly remoteAddr: { hostname: string; port: number };
  /** The node id in the peer's verified certificate (undefined for a non-node certificate). */
  readonly peerNodeId: number | undefined;
  #socket: tls.TLSSocket;
  #pending: Uint8Array[] = [];
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;

  constructor(socket: tls.TLSSocket, peerNodeId: number | undefined) {
    this.#socket = socket;
    this.peerNodeId = peerNodeId;
    this.remoteAddr = { hostname: socket.remoteAddress ?? "?", port: socket.remotePort ?? 0 };
    socket.on("data", (chunk: Uint8Array) => {
      this.#pending.push(chunk);
      // Backpressure: stop reading from the socket until the frames already here are consumed.
      if (this.#pending.length > 64) socket.pause();
      this.#notify();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("error", (error: Error) => {
      this.#error = error;
      this.#notify();
    });
  }

  setNoDelay(noDelay: boolean): void {
    this.#socket.setNoDelay(noDelay);
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#pending.length === 0) {
      if (this.#error) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    const head = this.#pending[0];
    const n = Math.min(head.length, buffer.length);
    buffer.set(head.subarray(0, n));
    if (n === head.length) this.#pending.shift();
    else this.#pending[0] = head.subarray(n);
    if (this.#pending.length <= 16 && this.#socket.isPaused()) this.#socket.resume();
    return n;
  }

  write(bytes: Uint8Array): Promise<number> {
    if (this.#error) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#socket.write(bytes, (error) => error ? reject(error) : resolve(bytes.length));
    });
  }

  close(): void {
    this.#ended = true;
    this.#socket.destroy();
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

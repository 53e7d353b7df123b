/**
 * The wire format: every frame is a big-endian u32 body length followed by one msgpack value.
 * Encoding packs many values into one buffer (one write per batch); decoding is incremental
 * and rejects anything it cannot trust before allocating for it.
 */
import { Packr, Unpackr } from "msgpackr";

export const FRAME_HEADER_BYTES = 4;

/** A frame that cannot be trusted: the connection that carried it must be closed. */
export class FrameError extends Error {
  override name = "FrameError";
}

const packr = new Packr({ useRecords: false });
const INITIAL_BUFFER_BYTES = 64 * 1024;

/** Frames for `values`, concatenated into one buffer so that a batch costs one write. */
export function encodeFrames(values: readonly unknown[]): Uint8Array {
  return frameBodies(values.map(encodeBody));
}

/** The msgpack body of one value, for callers that must check its size before framing it. */
export function encodeBody(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** Frames for already-encoded bodies, concatenated into one buffer. */
export function frameBodies(bodies: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const body of bodies) total += FRAME_HEADER_BYTES + body.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const body of bodies) {
    view.setUint32(offset, body.length);
    out.set(body, offset + FRAME_HEADER_BYTES);
    offset += FRAME_HEADER_BYTES + body.length;
  }
  return out;
}

/**
 * Splits a byte stream into frame bodies and decodes them. One decoder per connection: msgpackr
 * keeps per-instance state, and a peer must not be able to influence how another peer is decoded.
 */
export class FrameDecoder {
  #buffer = new Uint8Array(INITIAL_BUFFER_BYTES);
  #start = 0;
  #end = 0;
  // copyBuffers: binary fields would otherwise alias #buffer, which is overwritten by later reads.
  #unpackr = new Unpackr({ useRecords: false, copyBuffers: true });

  constructor(readonly maxFrameBytes: number) {}

  /** Appends bytes read from the connection. */
  push(bytes: Uint8Array): void {
    if (this.#end + bytes.length > this.#buffer.length) this.#makeRoom(bytes.length);
    this.#buffer.set(bytes, this.#end);
    this.#end += bytes.length;
  }

  /**
   * The next complete frame's decoded value, or `undefined` when more bytes are needed.
   * Throws FrameError for a length of zero or above maxFrameBytes, and for undecodable msgpack.
   */
  next(): unknown {
    const buffered = this.#end - this.#start;
    if (buffered < FRAME_HEADER_BYTES) return undefined;
    const length = new DataView(this.#buffer.buffer, this.#start, FRAME_HEADER_BYTES).getUint32(0);
    if (length === 0) throw new FrameError("empty frame (length prefix 0)");
    if (length > this.maxFrameBytes) {
      throw new FrameError(
        `frame of ${length} bytes exceeds maxFrameBytes ${this.maxFrameBytes} ` +
          `(garbage on the peer port, or raise maxFrameBytes on every node)`,
      );
    }
    if (buffered < FRAME_HEADER_BYTES + length) return undefined;
    const bodyStart = this.#start + FRAME_HEADER_BYTES;
    this.#start = bodyStart + length;
    const body = this.#buffer.subarray(bodyStart, bodyStart + length);
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
      // After a big frame (a snapshot chunk, a large append) go back to a small buffer.
      if (this.#buffer.length > INITIAL_BUFFER_BYTES * 16) {
        this.#buffer = new Uint8Array(INITIAL_BUFFER_BYTES);
      }
    }
    try {
      return this.#unpackr.unpack(body);
    } catch (error) {
      throw new FrameError(`undecodable msgpack in a ${length}-byte frame: ${(error as Error).message}`);
    }
  }

  #makeRoom(incoming: number): void {
    const kept = this.#end - this.#start;
    const needed = kept + incoming;
    const target = needed > this.#buffer.length
      ? new Uint8Array(Math.max(needed, this.#buffer.length * 2))
      : this.#buffer;
    target.set(this.#buffer.subarray(this.#start, this.#end), 0);
    this.#buffer = target;
    this.#start = 0;
    this.#end = kept;
  }
}

/**
 * The byte format of a KV state image (format 2) and its step-by-step encoder and decoder, so that
 * neither has to hold the event loop for the whole state.
 *
 *   magic (4 bytes: 0xc1 'K' 'V' 0x02)  then frames: u32 LE length | msgpack body
 *   frame 0: the header {format: 2, sessions, members, confIndex, safetyMode?, pairs}
 *   frames 1..: a flat array [key, value, modIndex, key, value, modIndex, ...] of about CHUNK_BYTES
 *   (modIndex: the log index of the write that set the value, 0 when unknown)
 *
 * 0xc1 is the one byte msgpack never uses, so a format 1 image (a single msgpack map, written by
 * older versions) is told apart by its first byte and still read.
 */
import type { NodeId, SafetyMode } from "../raft/mod.ts";
import type { Session } from "./sessions.ts";
import type { MemberInfo } from "./members.ts";
import { kvPackr } from "./codec.ts";

const MAGIC = Uint8Array.of(0xc1, 0x4b, 0x56, 0x02);
/** Target size of one data frame: small enough to encode in a few milliseconds. */
export const CHUNK_BYTES = 256 * 1024;

export interface ImageHeader {
  format: 2;
  sessions: Array<[string, Session]>;
  members: Array<[NodeId, MemberInfo]>;
  confIndex: number;
  safetyMode?: SafetyMode;
  /** Number of key/value pairs in the data frames (checked when decoding). */
  pairs: number;
}

/** An older version's image: one msgpack map. */
interface ImageV1 {
  format: 1;
  data: Array<[string, string]>;
  sessions: Array<[string, Session]>;
  members: Array<[NodeId, MemberInfo]>;
  confIndex: number;
  safetyMode?: SafetyMode;
}

/** Room for `bytes` bytes of a frame body: write them at buffer[at..at + bytes). */
export type Reserve = (bytes: number) => { buffer: Uint8Array; at: number };

/**
 * The data frames of an image: each call writes one msgpack body [key, value, modIndex, ...] of
 * about CHUNK_BYTES into the room `reserve` gives it (straight into the encoder's buffer, no
 * buffer of its own) and returns its size and pair count; undefined when there are no more pairs
 * (ValueArena.encodeFrame).
 */
export type FrameSource = (reserve: Reserve) => { bytes: number; pairs: number } | undefined;

/** Frames from pairs given as strings (small states, tests): msgpack-encoded by kvPackr. */
export function pairFrames(pairs: Iterator<[string, string, number]>): FrameSource {
  return (reserve) => {
    const flat: Array<string | number> = [];
    let bytes = 0;
    while (bytes < CHUNK_BYTES) {
      const next = pairs.next();
      if (next.done) break;
      const [k, v, mod] = next.value;
      flat.push(k, v, mod);
      bytes += k.length + v.length + 17;
    }
    if (flat.length === 0) return undefined;
    const body = kvPackr.pack(flat);
    const room = reserve(body.length);
    room.buffer.set(body, room.at);
    return { bytes: body.length, pairs: flat.length / 3 };
  };
}

/**
 * Encodes an image from a header and the pairs of a frozen generation, a slice of work per
 * `step()`, straight into one buffer: in memory, one sized from the state's bytes (the memory a
 * snapshot in flight costs is the image itself, plus the keys written meanwhile, see kv_data.ts,
 * never a second copy of it, nor an array of the pairs); streaming, one reused slice after slice
 * (the caller writes each slice's bytes out before the next step, so the image is never whole in
 * memory and no buffer is allocated per frame).
 */
export class ImageEncoder {
  private out: Uint8Array;
  private at: number;
  private pairsSeen = 0;
  private done = false;
  private readonly expectedPairs: number;
  private readonly streaming: boolean;
  /** Streaming: the bytes up to `at` were taken; the next step starts the buffer over. */
  private taken = false;
  private readonly reserve: Reserve = (bytes) => {
    const end = this.at + 4 + bytes;
    if (end > this.out.length) {
      // Text beyond Latin-1 takes more than a byte per character, or a streaming slice encoded
      // more than the buffer holds: grow (rare, one copy of what is in it).
      const bigger = new Uint8Array(Math.max(end, Math.ceil(this.out.length * 1.5)));
      bigger.set(this.out.subarray(0, this.at));
      this.out = bigger;
    }
    new DataView(this.out.buffer, this.out.byteOffset + this.at, 4).setUint32(0, bytes, true);
    return { buffer: this.out, at: this.at + 4 };
  };

  /**
   * `chars`: the UTF-8 bytes of all keys and values (KvData.weight), to size the buffer.
   * With `streaming`, the caller takes the bytes encoded by each step (takeEncoded) and writes
   * them out before the next step.
   */
  constructor(
    header: Omit<ImageHeader, "format">,
    private readonly frames: FrameSource,
    chars: number,
    streaming = false,
  ) {
    const head = kvPackr.pack({ format: 2, ...header });
    this.expectedPairs = header.pairs;
    this.streaming = streaming;
    // In memory: one byte per character (ASCII/Latin-1 text; other UTF-8 grows the buffer
    // once), a string header of at most 5 bytes per key and per value, and 4 + 5 bytes per
    // frame: an overestimate by at most a few bytes per pair, and no copy of the image when done.
    const frameCount = Math.ceil(chars / CHUNK_BYTES) + 2;
    this.out = new Uint8Array(
      streaming
        ? STREAMING_BUFFER_BYTES
        : MAGIC.length + 4 + head.length + chars + header.pairs * 19 + frameCount * 9,
    );
    this.out.set(MAGIC, 0);
    this.at = MAGIC.length;
    this.push(head);
  }

  /** Encodes frames until done or `budgetMs` passed; returns true when every pair is encoded. */
  step(budgetMs = Infinity): boolean {
    if (this.taken) {
      this.at = 0;
      this.taken = false;
    }
    const start = performance.now();
    while (!this.done) {
      const frame = this.frames(this.reserve);
      if (!frame) {
        this.done = true;
        break;
      }
      this.pairsSeen += frame.pairs;
      if (frame.pairs) this.at += 4 + frame.bytes;
      if (performance.now() - start >= budgetMs) break;
      // Streaming: hand out what is encoded once the buffer is half full, so the next frame fits.
      if (this.streaming && this.at >= STREAMING_BUFFER_BYTES / 2) break;
    }
    if (this.done && this.pairsSeen !== this.expectedPairs) {
      throw new Error(`image encoder saw ${this.pairsSeen} pairs, the header says ${this.expectedPairs}`);
    }
    return this.done;
  }

  /** The finished image (a view of the encoder's buffer). */
  image(): Uint8Array {
    if (!this.done) throw new Error("image not fully encoded");
    if (this.streaming) throw new Error("a streaming encoder hands out its bytes with takeEncoded()");
    return this.out.subarray(0, this.at);
  }

  /**
   * Streaming: the bytes encoded since the last call (a view of the encoder's buffer, valid until
   * the next step(): write it out first).
   */
  takeEncoded(): Uint8Array {
    if (!this.streaming) throw new Error("takeEncoded() is for a streaming encoder");
    this.taken = true;
    return this.out.subarray(0, this.at);
  }

  private push(body: Uint8Array): void {
    const room = this.reserve(body.length);
    room.buffer.set(body, room.at);
    this.at += 4 + body.length;
  }
}

/**
 * A streaming encoder's buffer. A step ends once half of it is encoded (a frame is about
 * CHUNK_BYTES), so it is not outgrown. When only the 4 ms budget ended a step, a step encoded up to
 * 12 MB, growing the buffer by copies into fresh pages. 200,000 keys of 500 B encoded into a
 * snapshot file (encodeToWriter, 10 runs each way, alternating): 185-261 ms of CPU and the event
 * loop blocked for up to 12.8-59 ms, against 125-188 ms and 3.8-28 ms with this bound.
 */
const STREAMING_BUFFER_BYTES = 1024 * 1024;

export interface DecodedHeader {
  sessions: Array<[string, Session]>;
  members: Array<[NodeId, MemberInfo]>;
  confIndex: number;
  safetyMode?: SafetyMode;
}

/**
 * Decodes an image step by step: the header at once, then data frames a slice of work per
 * `step()`, each pair handed to `onPair`. A format 1 image is decoded in one step.
 */
export class ImageDecoder {
  readonly header: DecodedHeader;
  private at = 0;
  private pairsSeen = 0;
  private readonly expectedPairs: number;
  private v1Pairs: Array<[string, string]> | undefined;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly onPair: (k: string, v: string, modIndex: number) => void,
    private readonly onEncoded?: EncodedPairSink,
  ) {
    if (bytes[0] !== MAGIC[0]) {
      const image = kvPackr.unpack(bytes) as ImageV1;
      if (image?.format !== 1) throw unsupported(image?.format);
      this.header = image;
      this.v1Pairs = image.data;
      this.expectedPairs = image.data.length;
      return;
    }
    if (!MAGIC.every((b, i) => bytes[i] === b)) throw unsupported(`bytes ${[...bytes.subarray(0, 4)]}`);
    this.at = MAGIC.length;
    const header = this.nextFrame() as ImageHeader | undefined;
    if (header?.format !== 2 || !Number.isSafeInteger(header.pairs)) {
      throw new Error("snapshot image: malformed header frame");
    }
    this.header = header;
    this.expectedPairs = header.pairs;
  }

  /** Decodes frames until done or `budgetMs` passed; returns true when every pair was handed over. */
  step(budgetMs = Infinity): boolean {
    if (this.v1Pairs) {
      for (const [k, v] of this.v1Pairs) this.onPair(k, v, 0);
      this.pairsSeen = this.v1Pairs.length;
      this.v1Pairs = undefined;
      return true;
    }
    const start = performance.now();
    while (this.at < this.bytes.length) {
      this.pairsSeen += decodeDataFrame(this.nextBody(), this.onPair, this.onEncoded);
      if (performance.now() - start >= budgetMs) break;
    }
    if (this.at < this.bytes.length) return false;
    if (this.pairsSeen !== this.expectedPairs) {
      throw new Error(`snapshot image holds ${this.pairsSeen} pairs, its header says ${this.expectedPairs}`);
    }
    return true;
  }

  private nextFrame(): unknown {
    return kvPackr.unpack(this.nextBody());
  }

  private nextBody(): Uint8Array {
    if (this.at + 4 > this.bytes.length) throw new Error("snapshot image is truncated (frame length)");
    const length = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.at, 4).getUint32(0, true);
    const end = this.at + 4 + length;
    if (end > this.bytes.length) throw new Error("snapshot image is truncated (frame body)");
    const body = this.bytes.subarray(this.at + 4, end);
    this.at = end;
    return body;
  }
}

/** A pair handed over as UTF-8 byte ranges of a frame (no strings made): ValueArena.setEncoded. */
export type EncodedPairSink = (
  src: Uint8Array,
  keyAt: number,
  keyBytes: number,
  valueAt: number,
  valueBytes: number,
  modIndex: number,
) => void;

/**
 * Hands over the pairs of one data frame body; returns how many. With `onEncoded`, a frame of
 * [str, str, uint]* is read straight from its bytes; any other encoding goes through msgpack.
 */
function decodeDataFrame(
  body: Uint8Array,
  onPair: (k: string, v: string, modIndex: number) => void,
  onEncoded: EncodedPairSink | undefined,
): number {
  if (onEncoded) {
    const pairs = decodeFrameBytes(body, onEncoded);
    if (pairs !== undefined) return pairs;
  }
  const flat = kvPackr.unpack(body);
  if (!Array.isArray(flat) || flat.length % 3 !== 0) throw new Error("snapshot image: malformed data frame");
  for (let i = 0; i < flat.length; i += 3) onPair(flat[i], flat[i + 1], flat[i + 2]);
  return flat.length / 3;
}

/**
 * The fast path of decodeDataFrame: undefined if the frame holds a type it does not read (then
 * the caller decodes it with msgpack; pairs already handed over are handed over again, the same).
 */
function decodeFrameBytes(body: Uint8Array, onEncoded: EncodedPairSink): number | undefined {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const end = body.length;
  let at: number;
  let items: number;
  const t = body[0];
  if ((t & 0xf0) === 0x90) [items, at] = [t & 0x0f, 1];
  else if (t === 0xdc) [items, at] = [view.getUint16(1), 3];
  else if (t === 0xdd) [items, at] = [view.getUint32(1), 5];
  else return undefined;
  if (items % 3 !== 0) return undefined;
  // Reads a string item at `at`: its length (-1 if the item is not a string), its bytes at strAt.
  let strAt = 0;
  const str = (): number => {
    const b = body[at];
    let n: number;
    if ((b & 0xe0) === 0xa0) [n, strAt] = [b & 0x1f, at + 1];
    else if (b === 0xd9) [n, strAt] = [body[at + 1], at + 2];
    else if (b === 0xda) [n, strAt] = [view.getUint16(at + 1), at + 3];
    else if (b === 0xdb) [n, strAt] = [view.getUint32(at + 1), at + 5];
    else return -1;
    at = strAt + n;
    return n;
  };
  for (let i = 0; i < items; i += 3) {
    if (at >= end) throw new Error("snapshot image: malformed data frame");
    const keyBytes = str();
    const keyAt = strAt;
    if (keyBytes < 0 || at >= end) return undefined;
    const valueBytes = str();
    const valueAt = strAt;
    if (valueBytes < 0 || at >= end) return undefined;
    const b = body[at];
    let mod: number;
    if (b < 0x80) [mod, at] = [b, at + 1];
    else if (b === 0xcc) [mod, at] = [body[at + 1], at + 2];
    else if (b === 0xcd) [mod, at] = [view.getUint16(at + 1), at + 3];
    else if (b === 0xce) [mod, at] = [view.getUint32(at + 1), at + 5];
    else if (b === 0xcb) [mod, at] = [view.getFloat64(at + 1), at + 9];
    else if (b === 0xcf) [mod, at] = [Number(view.getBigUint64(at + 1)), at + 9];
    else return undefined;
    if (at > end) throw new Error("snapshot image: malformed data frame");
    onEncoded(body, keyAt, keyBytes, valueAt, valueBytes, mod);
  }
  if (at !== end) throw new Error("snapshot image: malformed data frame");
  return items / 3;
}

function unsupported(format: unknown): Error {
  return new Error(`unsupported snapshot format ${String(format)}: this raft-kv reads formats 1 and 2`);
}

/**
 * Decodes a format 2 image that arrives in pieces (read from a file a chunk at a time): `push()`
 * the next piece, then `step()` decodes the whole frames received so far. Memory: the unread
 * remainder of the pieces (at most one frame plus one piece), never the image.
 */
export class ImageStreamDecoder {
  header: DecodedHeader | undefined;
  /** The bytes received and not yet decoded start at `at`: a view of `store`. */
  private buffer: Uint8Array = new Uint8Array(0);
  /** Reused from piece to piece, so decoding a file allocates nothing per piece. */
  private store: Uint8Array = new Uint8Array(0);
  private at = 0;
  private pairsSeen = 0;
  private expectedPairs = 0;
  private magicRead = false;

  constructor(
    private readonly onPair: (k: string, v: string, modIndex: number) => void,
    private readonly onEncoded?: EncodedPairSink,
  ) {}

  /** Whether `firstBytes` start a format 2 image (others are decoded whole, by ImageDecoder). */
  static isStreamable(firstBytes: Uint8Array): boolean {
    return MAGIC.every((b, i) => firstBytes[i] === b);
  }

  /**
   * Adds the next bytes of the image. They are copied (the caller may reuse `piece`), behind the
   * undecoded rest of the previous ones, into a buffer kept from piece to piece: a new joined
   * buffer per piece added up to garbage as large as the image, freed only when the GC ran. (In
   * restart_memory_test the difference was within the run-to-run noise of the V8 heap, 14-32 MB.)
   */
  push(piece: Uint8Array): void {
    const rest = this.buffer.length - this.at;
    const length = rest + piece.length;
    if (length > this.store.length) {
      const grown = new Uint8Array(Math.max(length, this.store.length * 2));
      grown.set(this.buffer.subarray(this.at));
      this.store = grown;
    } else this.store.copyWithin(0, this.at, this.buffer.length); // the buffer is a view of the store
    this.store.set(piece, rest);
    this.buffer = this.store.subarray(0, length);
    this.at = 0;
    if (!this.magicRead && this.buffer.length >= MAGIC.length) {
      if (!ImageStreamDecoder.isStreamable(this.buffer)) {
        throw unsupported(`bytes ${[...this.buffer.subarray(0, 4)]} (a streamed image must be format 2)`);
      }
      this.at = MAGIC.length;
      this.magicRead = true;
    }
  }

  /** Decodes the whole frames received so far, until `budgetMs` passed; true when all are decoded. */
  step(budgetMs = Infinity): boolean {
    const start = performance.now();
    while (true) {
      const body = this.nextFrame();
      if (body === undefined) return true;
      if (this.header === undefined) {
        const header = kvPackr.unpack(body) as ImageHeader | undefined;
        if (header?.format !== 2 || !Number.isSafeInteger(header.pairs)) {
          throw new Error("snapshot image: malformed header frame");
        }
        this.header = header;
        this.expectedPairs = header.pairs;
      } else this.pairsSeen += decodeDataFrame(body, this.onPair, this.onEncoded);
      if (performance.now() - start >= budgetMs) return false;
    }
  }

  /** After the last piece: checks that nothing is left over and every pair the header announced came. */
  finish(): void {
    if (this.header === undefined) throw new Error("snapshot image is truncated (no header)");
    if (this.at < this.buffer.length) throw new Error("snapshot image is truncated (frame body)");
    if (this.pairsSeen !== this.expectedPairs) {
      throw new Error(`snapshot image holds ${this.pairsSeen} pairs, its header says ${this.expectedPairs}`);
    }
  }

  private nextFrame(): Uint8Array | undefined {
    if (!this.magicRead || this.at + 4 > this.buffer.length) return undefined;
    const length = new DataView(this.buffer.buffer, this.buffer.byteOffset + this.at, 4).getUint32(0, true);
    const end = this.at + 4 + length;
    if (end > this.buffer.length) return undefined;
    const body = this.buffer.subarray(this.at + 4, end);
    this.at = end;
    return body;
  }
}

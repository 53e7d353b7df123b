/**
 * A snapshot travels on a connection of its own as: snapBegin (the message without its data,
 * plus size and CRC-32), snapChunk frames in order, then the receiver's snapAck. Big snapshots
 * never become one giant frame, and heartbeats on the messages connection are not stuck behind them.
 */
import { crc32 } from "node:zlib";
import type { Message, SnapshotMeta } from "../raft/types.ts";
import type { FramedConnection } from "./connection.ts";
import { encodeFrames } from "./frame.ts";
import { InvalidMessageError, validateMessage } from "./validate.ts";

/** Largest snapshot a receiver will allocate for; a KV store image beyond this needs another design. */
export const MAX_SNAPSHOT_BYTES = 1 << 30;

export interface SnapshotBegin {
  kind: "snapBegin";
  message: Message;
  size: number;
  crc32: number;
  chunks: number;
}

export interface SnapshotChunk {
  kind: "snapChunk";
  seq: number;
  data: Uint8Array;
}

export interface SnapshotAck {
  kind: "snapAck";
  ok: boolean;
  error?: string;
}

/** The snapshot stream broke its own rules, or the receiver said no. */
export class SnapshotStreamError extends Error {
  override name = "SnapshotStreamError";
}

export interface StreamTimeouts {
  /** Per write of one chunk: a receiver that stops reading is given up on. */
  writeMs: number;
  /** For the receiver's ack once everything is written (it may be busy delivering). */
  ackMs: number;
}

/**
 * The bytes of a snapshot image to send: in memory, or read from a snapshot file a chunk at a
 * time (storage/snapshot_file.ts's SnapshotDataReader), so a sender holds one chunk, not the image.
 */
export interface SnapshotSource {
  readonly size: number;
  /** CRC-32 of all `size` bytes, announced before the first chunk. */
  readonly crc32: number;
  /** The next up to `max` bytes, in order. */
  read(max: number): Promise<Uint8Array>;
  close(): void;
}

export function memorySource(data: Uint8Array): SnapshotSource {
  let at = 0;
  return {
    size: data.length,
    crc32: crc32(data) >>> 0,
    read(max) {
      const piece = data.subarray(at, at + max);
      at += piece.length;
      return Promise.resolve(piece);
    },
    close() {},
  };
}

/**
 * Sends the snap `message` over `conn` with the image from `source`, in chunks of at most
 * `chunkBytes`, and waits for the ack. Returns the number of chunk frames; throws if the
 * receiver refused or the stream failed.
 */
export async function streamSnapshot(
  conn: FramedConnection,
  message: Message,
  source: SnapshotSource,
  chunkBytes: number,
  timeouts: StreamTimeouts,
  onChunkSent: (bytes: number) => void,
): Promise<number> {
  const snapshot = message.snapshot;
  if (!snapshot) throw new SnapshotStreamError("a snap message needs a snapshot");
  const chunks = Math.ceil(source.size / chunkBytes);
  const begin: SnapshotBegin = {
    kind: "snapBegin",
    message: { ...message, snapshot: { meta: snapshot.meta, data: new Uint8Array(0) } },
    size: source.size,
    crc32: source.crc32,
    chunks,
  };
  await conn.write(encodeFrames([begin]), timeouts.writeMs);
  for (let seq = 0; seq < chunks; seq++) {
    const data = await source.read(chunkBytes);
    if (data.length === 0) {
      throw new SnapshotStreamError(`the snapshot image ended at chunk ${seq} of ${chunks}`);
    }
    const chunk: SnapshotChunk = { kind: "snapChunk", seq, data };
    const frame = encodeFrames([chunk]);
    await conn.write(frame, timeouts.writeMs);
    onChunkSent(frame.length);
  }
  const ack = await conn.read(timeouts.ackMs) as Partial<SnapshotAck> | undefined;
  if (ack === undefined) throw new SnapshotStreamError("receiver closed the connection before acknowledging");
  if (ack.kind !== "snapAck") {
    throw new SnapshotStreamError("receiver answered with something other than an ack");
  }
  if (ack.ok !== true) throw new SnapshotStreamError(`receiver refused the snapshot: ${String(ack.error)}`);
  return chunks;
}

/**
 * Where a receiver puts an incoming snapshot's image instead of memory (a file: the node's
 * incoming_snapshots.ts): chunks are written as they arrive, so receiving costs one chunk of
 * memory, not the image. `finish()` once every byte arrived and the CRC matched; `abort()` if the
 * stream failed (the partial image is removed).
 */
export interface SnapshotStage {
  write(bytes: Uint8Array): Promise<void>;
  finish(): Promise<void>;
  abort(): Promise<void>;
}

/** Opens a stage for the image of the snapshot `meta` of `size` bytes (PeerTransportOptions.stageSnapshot). */
export type StageSnapshot = (meta: SnapshotMeta, size: number) => Promise<SnapshotStage>;

/**
 * Receiver side: checks each frame of one snapshot stream and rebuilds the snap message. With a
 * `stage`, the image goes there chunk by chunk and the message is delivered with empty data (the
 * node reads the image from its stage); without one, it is assembled in memory.
 */
export class SnapshotAssembler {
  #begin?: SnapshotBegin;
  #data = new Uint8Array(0);
  #received = 0;
  #nextSeq = 0;
  #crc = 0;
  #staging?: SnapshotStage;
  #finished = false;
  /** The most image bytes this assembler held in memory at once (a chunk when staging). */
  maxBytesHeld = 0;

  constructor(readonly maxSnapshotBytes = MAX_SNAPSHOT_BYTES, private readonly stage?: StageSnapshot) {}

  get chunksReceived(): number {
    return this.#nextSeq;
  }

  /**
   * Takes the next frame. Returns the complete, verified snap message after its last chunk,
   * `undefined` before that; throws SnapshotStreamError or InvalidMessageError on any violation.
   */
  async accept(frame: unknown): Promise<Message | undefined> {
    const kind = (frame as { kind?: unknown } | null)?.kind;
    if (kind === "snapBegin" && this.#begin === undefined) {
      return await this.#acceptBegin(frame as SnapshotBegin);
    }
    if (kind === "snapChunk" && this.#begin !== undefined) {
      return await this.#acceptChunk(frame as SnapshotChunk);
    }
    throw new SnapshotStreamError(`unexpected frame ${JSON.stringify(kind)} in a snapshot stream`);
  }

  /** The stream ended (delivered or broken): an unfinished staged image is removed. */
  async close(): Promise<void> {
    const staging = this.#staging;
    this.#staging = undefined;
    if (staging && !this.#finished) await staging.abort();
  }

  async #acceptBegin(begin: SnapshotBegin): Promise<Message | undefined> {
    const message = validateMessage(begin.message);
    if (message.type !== "snap" || message.snapshot?.data.length !== 0) {
      throw new InvalidMessageError("snapBegin must carry a snap message with empty data");
    }
    const { size, chunks } = begin;
    if (!Number.isSafeInteger(size) || size < 0 || size > this.maxSnapshotBytes) {
      throw new SnapshotStreamError(`snapshot size ${size} is outside 0..${this.maxSnapshotBytes}`);
    }
    if (!Number.isSafeInteger(chunks) || chunks < 0 || chunks > size || (size > 0 && chunks === 0)) {
      throw new SnapshotStreamError(`chunk count ${chunks} does not fit a ${size}-byte snapshot`);
    }
    if (!Number.isInteger(begin.crc32) || begin.crc32 < 0 || begin.crc32 > 0xffffffff) {
      throw new SnapshotStreamError(`snapBegin.crc32 must be a u32, got ${begin.crc32}`);
    }
    this.#begin = { kind: "snapBegin", message, size, chunks, crc32: begin.crc32 };
    if (this.stage) this.#staging = await this.stage(message.snapshot!.meta, size);
    else {
      this.#data = new Uint8Array(size);
      this.maxBytesHeld = size;
    }
    return await this.#complete();
  }

  async #acceptChunk(chunk: SnapshotChunk): Promise<Message | undefined> {
    const begin = this.#begin!;
    if (chunk.seq !== this.#nextSeq || this.#nextSeq >= begin.chunks) {
      throw new SnapshotStreamError(
        `chunk ${chunk.seq} out of order: expected ${this.#nextSeq} of ${begin.chunks}`,
      );
    }
    if (!(chunk.data instanceof Uint8Array) || chunk.data.length === 0) {
      throw new SnapshotStreamError(`chunk ${chunk.seq} carries no bytes`);
    }
    if (this.#received + chunk.data.length > begin.size) {
      throw new SnapshotStreamError(`chunk ${chunk.seq} runs past the announced size ${begin.size}`);
    }
    if (this.#staging) {
      await this.#staging.write(chunk.data);
      this.maxBytesHeld = Math.max(this.maxBytesHeld, chunk.data.length);
    } else this.#data.set(chunk.data, this.#received);
    this.#crc = crc32(chunk.data, this.#crc);
    this.#received += chunk.data.length;
    this.#nextSeq++;
    return await this.#complete();
  }

  async #complete(): Promise<Message | undefined> {
    const begin = this.#begin!;
    if (this.#nextSeq < begin.chunks) return undefined;
    if (this.#received !== begin.size) {
      throw new SnapshotStreamError(`received ${this.#received} bytes, announced ${begin.size}`);
    }
    if (this.#crc !== begin.crc32) {
      throw new SnapshotStreamError(`CRC-32 mismatch: the snapshot was corrupted in transit`);
    }
    const message = begin.message;
    if (this.#staging) {
      await this.#staging.finish();
      this.#finished = true;
      return message; // empty data: the image is staged
    }
    return { ...message, snapshot: { meta: message.snapshot!.meta, data: this.#data } };
  }
}

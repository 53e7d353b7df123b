import type { ConfState, Snapshot } from "../raft/types.ts";
import { atomicWriteFilePieces, syncDir, writeAll } from "./atomic_write.ts";
import { crc32, crc32Combine } from "./crc32.ts";
import { isCount, packr } from "./packr.ts";

/**
 * A snapshot file: magic | u32 format version | u32 CRC-32 of the body | f64 body length | body,
 * where the body is msgpack [meta, data]. Its name carries index and term, so that recovery knows
 * which state a snapshot stood for even when its content is damaged.
 */
const SNAPSHOT_MAGIC = new TextEncoder().encode("RKVSNAP\n");
const SNAPSHOT_FORMAT_VERSION = 1;
const PREAMBLE_BYTES = SNAPSHOT_MAGIC.length + 16;
const SNAPSHOT_NAME = /^snap-(\d{16})-(\d{16})\.snap$/;

export interface SnapshotFileName {
  name: string;
  index: number;
  term: number;
}

export function snapshotFileName(index: number, term: number): string {
  return `snap-${String(index).padStart(16, "0")}-${String(term).padStart(16, "0")}.snap`;
}

export function parseSnapshotFileName(name: string): SnapshotFileName | undefined {
  const match = SNAPSHOT_NAME.exec(name);
  return match ? { name, index: Number(match[1]), term: Number(match[2]) } : undefined;
}

/** Snapshot files in `dir`, newest (highest index) first. */
export async function listSnapshotFiles(dir: string): Promise<SnapshotFileName[]> {
  const found: SnapshotFileName[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const parsed = entry.isFile ? parseSnapshotFileName(entry.name) : undefined;
    if (parsed) found.push(parsed);
  }
  return found.sort((a, b) => b.index - a.index || b.term - a.term);
}

export function encodeSnapshotFile(snapshot: Snapshot): Uint8Array {
  const body = packr.pack([snapshot.meta, snapshot.data]);
  const out = new Uint8Array(PREAMBLE_BYTES + body.length);
  out.set(SNAPSHOT_MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, SNAPSHOT_FORMAT_VERSION, true);
  view.setUint32(12, crc32(body), true);
  view.setFloat64(16, body.length, true);
  out.set(body, PREAMBLE_BYTES);
  return out;
}

/**
 * The bytes of encodeSnapshotFile(snapshot) as a few pieces that refer to `snapshot.data` rather
 * than copy it: packing [meta, data] into one buffer copies the whole image synchronously (about
 * 0.6-0.9 s of blocked event loop for a 100 MB state on the loaded test machine). The body is
 * msgpack [meta, data] written by hand around the data: a 2-element array, the packed meta, a
 * bin header, the data. The CRC is computed natively over the pieces (about 40 GB/s).
 */
export function snapshotFilePieces(snapshot: Snapshot): Uint8Array[] {
  const meta = packr.pack(snapshot.meta);
  const body = [Uint8Array.of(0x92), meta, msgpackBinHeader(snapshot.data.length), snapshot.data];
  let crc = 0, length = 0;
  for (const piece of body) {
    crc = crc32(piece, crc);
    length += piece.length;
  }
  const preamble = new Uint8Array(PREAMBLE_BYTES);
  preamble.set(SNAPSHOT_MAGIC, 0);
  const view = new DataView(preamble.buffer);
  view.setUint32(8, SNAPSHOT_FORMAT_VERSION, true);
  view.setUint32(12, crc, true);
  view.setFloat64(16, length, true);
  return [preamble, ...body];
}

/** msgpack's bin 8/16/32 header for `length` bytes (the smallest that fits, as msgpack packs it). */
function msgpackBinHeader(length: number): Uint8Array {
  if (length < 0x100) return Uint8Array.of(0xc4, length);
  if (length < 0x10000) return Uint8Array.of(0xc5, length >> 8, length & 0xff);
  const header = new Uint8Array(5);
  header[0] = 0xc6;
  new DataView(header.buffer).setUint32(1, length);
  return header;
}

export async function writeSnapshotFile(
  dir: string,
  snapshot: Snapshot,
): Promise<{ name: string; bytes: number }> {
  const name = snapshotFileName(snapshot.meta.index, snapshot.meta.term);
  const pieces = snapshotFilePieces(snapshot);
  await atomicWriteFilePieces(dir, name, pieces);
  return { name, bytes: pieces.reduce((n, p) => n + p.length, 0) };
}

function isConfState(conf: unknown): conf is ConfState {
  const c = conf as Record<string, unknown> | null;
  return typeof c === "object" && c !== null &&
    [c.voters, c.votersOutgoing, c.learners, c.learnersNext].every((ids) =>
      Array.isArray(ids) && ids.every(isCount)
    );
}

/** Largest image a streamed snapshot file holds: its data goes in one msgpack bin 32. */
const MAX_STREAMED_DATA_BYTES = 0xffffffff;
/** Read size when a snapshot file is checked or sent from disk: bounded memory, few system calls. */
const READ_PIECE_BYTES = 4 * 1024 * 1024;
/**
 * A snapshot file being written is flushed (fdatasync) every this many bytes, not only at the end
 * (RocksDB's bytes_per_sync; TiKV sets it to 1 MB). Left to the final fsync, ~100 MB of dirty
 * pages went to the disk at once, and every WAL fdatasync on that disk (this member's and, on one
 * machine, the other members': a follower's ack, a leader's commit) queued behind them.
 * `deno task bench snapshot-fsync` (a RaftStorage WAL saving one entry at a time while a 100 MB
 * snapshot file is written, 2 runs of 3 alternating rounds): the slowest WAL save 3.6-8.0 ms with
 * a flush every 4 MiB, 35-66 ms with one at the end; the file took 142-189 ms instead of 122-157.
 * A raw probe gave 8-9 ms every 16 MiB and 1.7-5.8 ms every 1 MiB (the file then took 40 % longer).
 */
export const SNAPSHOT_SYNC_EVERY_BYTES = 4 * 1024 * 1024;

/**
 * A snapshot file written piece by piece while its image is encoded, so that the whole image is
 * never in memory at once (at 200,000 keys of 500 B it is about 100 MB; held by the Raft core to
 * send to followers, it was 1x the data on top of the map). Same bytes on disk as
 * encodeSnapshotFile, except that the data's header is always a bin 32 (which msgpack readers
 * accept at any length): the length and the CRC are written last, once the data is complete.
 * The CRC is computed as the data is written and combined with the head's at the end
 * (crc32Combine): reading the body back for it cost another pass over the file (520 MB at
 * 1,000,000 keys of 500 B) for every snapshot. Finishing a 100 MB file (RaftStorage, 8 alternating
 * runs): 27-86 ms and 22-59 ms of CPU before, 3-39 ms and 2-13 ms of CPU (the old file's removal
 * included) now.
 */
export class SnapshotFileWriter {
  private dataBytes = 0;
  private closed = false;
  private unsyncedBytes = 0;
  /** CRC-32 of the data written so far. */
  private dataCrc = 0;
  /** fdatasyncs made while writing (the flushes every `syncEveryBytes`), not counting finish()'s. */
  syncs = 0;

  private constructor(
    private readonly dir: string,
    readonly name: string,
    private readonly file: Deno.FsFile,
    /** Offset of the bin 32 header (0xc6 + u32 length) just before the data. */
    private readonly binHeaderAt: number,
    /** The body's bytes before the data: [0x92, meta, bin 32 header]; its length is set at the end. */
    private readonly bodyHead: Uint8Array,
    private readonly syncEveryBytes: number,
  ) {}

  /** `syncEveryBytes`: see SNAPSHOT_SYNC_EVERY_BYTES (Infinity: only at the end, for comparison). */
  static async create(
    dir: string,
    meta: Snapshot["meta"],
    syncEveryBytes = SNAPSHOT_SYNC_EVERY_BYTES,
  ): Promise<SnapshotFileWriter> {
    const name = snapshotFileName(meta.index, meta.term);
    const file = await Deno.open(`${dir}/${name}.streaming`, { create: true, write: true, truncate: true });
    const packedMeta = packr.pack(meta);
    const head = new Uint8Array(PREAMBLE_BYTES + 1 + packedMeta.length + 5);
    head.set(SNAPSHOT_MAGIC, 0);
    head[PREAMBLE_BYTES] = 0x92;
    head.set(packedMeta, PREAMBLE_BYTES + 1);
    const binHeaderAt = PREAMBLE_BYTES + 1 + packedMeta.length;
    head[binHeaderAt] = 0xc6;
    try {
      await writeAll(file, head);
    } catch (e) {
      file.close();
      throw e;
    }
    return new SnapshotFileWriter(dir, name, file, binHeaderAt, head.slice(PREAMBLE_BYTES), syncEveryBytes);
  }

  /** Appends image bytes (awaited one at a time by the caller). */
  async write(piece: Uint8Array): Promise<void> {
    if (this.dataBytes + piece.length > MAX_STREAMED_DATA_BYTES) {
      throw new Error(`snapshot image larger than ${MAX_STREAMED_DATA_BYTES} bytes is not supported`);
    }
    await writeAll(this.file, piece);
    this.dataCrc = crc32(piece, this.dataCrc);
    this.dataBytes += piece.length;
    this.unsyncedBytes += piece.length;
    if (this.unsyncedBytes >= this.syncEveryBytes) {
      this.unsyncedBytes = 0;
      this.syncs++;
      await this.file.syncData();
    }
  }

  /** Writes length and CRC, fsyncs, renames into place; returns the file's name and size. */
  async finish(): Promise<{ name: string; bytes: number }> {
    const file = this.file;
    try {
      const head = this.bodyHead;
      new DataView(head.buffer, head.byteOffset, head.length).setUint32(head.length - 4, this.dataBytes);
      await file.seek(this.binHeaderAt + 1, Deno.SeekMode.Start);
      await writeAll(file, head.subarray(head.length - 4));
      const bodyLength = head.length + this.dataBytes;
      const crc = crc32Combine(crc32(head), this.dataCrc, this.dataBytes);
      const preamble = new Uint8Array(PREAMBLE_BYTES);
      preamble.set(SNAPSHOT_MAGIC, 0);
      const view = new DataView(preamble.buffer);
      view.setUint32(8, SNAPSHOT_FORMAT_VERSION, true);
      view.setUint32(12, crc, true);
      view.setFloat64(16, bodyLength, true);
      await file.seek(0, Deno.SeekMode.Start);
      await writeAll(file, preamble);
      await file.sync();
    } finally {
      this.close();
    }
    await Deno.rename(`${this.dir}/${this.name}.streaming`, `${this.dir}/${this.name}`);
    await syncDir(this.dir);
    return { name: this.name, bytes: this.binHeaderAt + 5 + this.dataBytes };
  }

  /** Gives up: the partial file is removed. */
  async abort(): Promise<void> {
    this.close();
    await Deno.remove(`${this.dir}/${this.name}.streaming`).catch(() => undefined);
  }

  private close(): void {
    if (!this.closed) this.file.close();
    this.closed = true;
  }
}

/**
 * The image (data) of a snapshot file, read from disk a piece at a time: what a leader sends to a
 * follower that needs a snapshot, without loading the file. Opening it reads the whole file once
 * to check its CRC (a damaged file must not be sent) and to compute the data's own CRC, which
 * the snapshot stream announces first.
 */
export class SnapshotDataReader {
  private at = 0;

  private constructor(
    private readonly file: Deno.FsFile,
    /** Offset of the data (the image) in the file; it runs to the end of the file. */
    readonly dataAt: number,
    readonly size: number,
    readonly crc32: number,
    /** The metadata the file holds (checked against its name). */
    readonly meta: Snapshot["meta"],
    /** Size of the whole file. */
    readonly fileBytes: number,
  ) {}

  static async open(dir: string, meta: { index: number; term: number }): Promise<SnapshotDataReader> {
    const name = snapshotFileName(meta.index, meta.term);
    const file = await Deno.open(`${dir}/${name}`, { read: true });
    try {
      const fileBytes = (await file.stat()).size;
      const head = new Uint8Array(Math.min(fileBytes, 64 * 1024));
      await readExactly(file, head);
      const { dataAt, dataLength, bodyCrc, meta: found } = locateData(head, fileBytes, name);
      if (found.index !== meta.index || found.term !== meta.term) {
        throw new Error(
          `${name} holds index ${found.index} term ${found.term}, its name says ${meta.index}/${meta.term}`,
        );
      }
      await file.seek(PREAMBLE_BYTES, Deno.SeekMode.Start);
      // Body CRC (checked against the preamble) and data CRC (announced to the receiver) in one pass.
      const buffer = new Uint8Array(READ_PIECE_BYTES);
      let crcBody = 0, crcData = 0;
      for (let at = PREAMBLE_BYTES; at < fileBytes;) {
        const n = await file.read(buffer.subarray(0, Math.min(buffer.length, fileBytes - at)));
        if (n === null) throw new Error(`snapshot file ${name} ended early`);
        const piece = buffer.subarray(0, n);
        crcBody = crc32(piece, crcBody);
        const dataStart = Math.max(0, dataAt - at);
        if (dataStart < n) crcData = crc32(piece.subarray(dataStart), crcData);
        at += n;
      }
      if (crcBody !== bodyCrc) throw new Error(`snapshot file ${name}: checksum mismatch`);
      await file.seek(dataAt, Deno.SeekMode.Start);
      const checkedMeta = { index: found.index, term: found.term, conf: found.conf };
      return new SnapshotDataReader(file, dataAt, dataLength, crcData, checkedMeta, fileBytes);
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /** The next up to `max` bytes of the data, in order (a new buffer each time); empty at the end. */
  async read(max: number): Promise<Uint8Array> {
    const out = new Uint8Array(Math.min(max, this.size - this.at));
    await readExactly(this.file, out);
    this.at += out.length;
    return out;
  }

  close(): void {
    try {
      this.file.close();
    } catch {
      // already closed
    }
  }
}

/** Where the image (the data) of a checked snapshot file lies: `bytes` bytes from `offset` to its end. */
export interface SnapshotImageLocation {
  path: string;
  offset: number;
  bytes: number;
}

/**
 * Checks a snapshot file without loading it: its CRC, read a piece at a time (4 MiB in memory),
 * and its metadata against its name. Returns its size, the metadata, and where its image lies,
 * so that the caller can decode the image from the file in pieces too: recovery used to read the
 * newest file whole, about 120 MB at 1,000,000 keys on top of the state decoded from it, at the
 * moment a restarted member's memory peaks.
 */
export async function checkSnapshotFile(
  dir: string,
  expected: SnapshotFileName,
): Promise<{ fileBytes: number; meta: Snapshot["meta"]; image: SnapshotImageLocation }> {
  const reader = await SnapshotDataReader.open(dir, expected);
  try {
    return {
      fileBytes: reader.fileBytes,
      meta: reader.meta,
      image: { path: `${dir}/${expected.name}`, offset: reader.dataAt, bytes: reader.size },
    };
  } finally {
    reader.close();
  }
}

/** The image of a checked snapshot file, read into one buffer of its size. */
export async function readSnapshotImage(image: SnapshotImageLocation): Promise<Uint8Array> {
  using file = await Deno.open(image.path, { read: true });
  await file.seek(image.offset, Deno.SeekMode.Start);
  const data = new Uint8Array(image.bytes);
  await readExactly(file, data);
  return data;
}

/** Where the data starts in a snapshot file, from its first bytes (preamble, [meta, bin header]). */
function locateData(
  head: Uint8Array,
  fileBytes: number,
  name: string,
): { dataAt: number; dataLength: number; bodyCrc: number; meta: Snapshot["meta"] } {
  if (head.length < PREAMBLE_BYTES + 3 || !SNAPSHOT_MAGIC.every((b, i) => head[i] === b)) {
    throw new Error(`${name} is not a raft-kv snapshot file`);
  }
  const view = new DataView(head.buffer, head.byteOffset, head.length);
  const version = view.getUint32(8, true);
  if (version !== SNAPSHOT_FORMAT_VERSION) throw new Error(`${name} is in format ${version}`);
  if (view.getFloat64(16, true) !== fileBytes - PREAMBLE_BYTES) throw new Error(`${name} is truncated`);
  if (head[PREAMBLE_BYTES] !== 0x92) throw new Error(`${name}: body is not [meta, data]`);
  // The packed meta is followed by a bin 8/16/32 header whose length reaches the end of the file:
  // find the one offset where that holds, then check the meta there decodes.
  for (let at = PREAMBLE_BYTES + 2; at < head.length - 1; at++) {
    const kind = head[at];
    const headerBytes = kind === 0xc4 ? 2 : kind === 0xc5 ? 3 : kind === 0xc6 ? 5 : 0;
    if (!headerBytes || at + headerBytes > head.length) continue;
    const length = kind === 0xc4
      ? head[at + 1]
      : kind === 0xc5
      ? view.getUint16(at + 1)
      : view.getUint32(at + 1);
    if (at + headerBytes + length !== fileBytes) continue;
    try {
      const meta = packr.unpack(head.subarray(PREAMBLE_BYTES + 1, at)) as Snapshot["meta"];
      if (isCount(meta?.index) && isCount(meta?.term) && isConfState(meta.conf)) {
        return { dataAt: at + headerBytes, dataLength: length, bodyCrc: view.getUint32(12, true), meta };
      }
    } catch {
      // not the meta's end: keep looking
    }
  }
  throw new Error(`${name}: cannot find the snapshot data`);
}

async function readExactly(file: Deno.FsFile, into: Uint8Array): Promise<void> {
  for (let at = 0; at < into.length;) {
    const n = await file.read(into.subarray(at));
    if (n === null) throw new Error("snapshot file ended early");
    at += n;
  }
}

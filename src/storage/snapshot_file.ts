import type { ConfState, Snapshot } from "../raft/types.ts";
import { atomicWriteFile } from "./atomic_write.ts";
import { crc32 } from "./crc32.ts";
import { asPlainBytes, isCount, packr } from "./packr.ts";

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

/** Decode and verify a snapshot file; throws an Error naming what is wrong. */
export function decodeSnapshotFile(bytes: Uint8Array, expected: SnapshotFileName): Snapshot {
  if (bytes.length < PREAMBLE_BYTES || !SNAPSHOT_MAGIC.every((b, i) => bytes[i] === b)) {
    throw new Error("not a raft-kv snapshot file (wrong magic or too short)");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const version = view.getUint32(8, true);
  if (version !== SNAPSHOT_FORMAT_VERSION) {
    throw new Error(
      `snapshot written in format ${version}; this build reads format ${SNAPSHOT_FORMAT_VERSION}`,
    );
  }
  const body = bytes.subarray(PREAMBLE_BYTES);
  if (view.getFloat64(16, true) !== body.length) {
    throw new Error("snapshot file is truncated or has trailing bytes");
  }
  if (crc32(body) !== view.getUint32(12, true)) throw new Error("snapshot checksum mismatch");
  const decoded: unknown = packr.unpack(body);
  if (!Array.isArray(decoded) || decoded.length !== 2) throw new Error("snapshot body is not [meta, data]");
  const [meta, data] = decoded as [Snapshot["meta"], unknown];
  if (!isCount(meta?.index) || !isCount(meta?.term) || !isConfState(meta.conf)) {
    throw new Error("snapshot metadata is malformed");
  }
  if (meta.index !== expected.index || meta.term !== expected.term) {
    throw new Error(
      `snapshot holds index ${meta.index} term ${meta.term}, its name says ${expected.index}/${expected.term}`,
    );
  }
  return {
    meta: { index: meta.index, term: meta.term, conf: meta.conf },
    data: asPlainBytes(data, "snapshot data"),
  };
}

export async function writeSnapshotFile(
  dir: string,
  snapshot: Snapshot,
): Promise<{ name: string; bytes: number }> {
  const name = snapshotFileName(snapshot.meta.index, snapshot.meta.term);
  const bytes = encodeSnapshotFile(snapshot);
  await atomicWriteFile(dir, name, bytes);
  return { name, bytes: bytes.length };
}

function isConfState(conf: unknown): conf is ConfState {
  const c = conf as Record<string, unknown> | null;
  return typeof c === "object" && c !== null &&
    [c.voters, c.votersOutgoing, c.learners, c.learnersNext].every((ids) =>
      Array.isArray(ids) && ids.every(isCount)
    );
}

import type { ConfChange, Entry, HardState } from "../raft/types.ts";
import { asPlainBytes, isCount, packr } from "./packr.ts";

/**
 * The payloads of WAL records. Decoders check the shape and throw a plain Error naming what is
 * wrong; the WAL reader turns that into a StorageCorruptionError with file and offset.
 */

const SEGMENT_MAGIC = new TextEncoder().encode("RKVWAL\r\n");
export const WAL_FORMAT_VERSION = 1;

export interface SegmentHeader {
  version: number;
  /** Position of the segment in the WAL; also in the file name. */
  seq: number;
  /** The index after the highest entry written before it (entries rewritten after a conflict can be lower). */
  firstIndex: number;
}

/** A snapshot at (index, term) was durably saved before any record that follows this one. */
export interface SnapshotMarker {
  index: number;
  term: number;
}

export function encodeSegmentHeader(header: Omit<SegmentHeader, "version">): Uint8Array {
  const out = new Uint8Array(SEGMENT_MAGIC.length + 4 + 8 + 8);
  out.set(SEGMENT_MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, WAL_FORMAT_VERSION, true);
  view.setFloat64(12, header.seq, true);
  view.setFloat64(20, header.firstIndex, true);
  return out;
}

export function decodeSegmentHeader(payload: Uint8Array): SegmentHeader {
  if (payload.length !== SEGMENT_MAGIC.length + 20 || !SEGMENT_MAGIC.every((b, i) => payload[i] === b)) {
    throw new Error("segment header has the wrong magic or size (not a raft-kv WAL segment)");
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
  const header = {
    version: view.getUint32(8, true),
    seq: view.getFloat64(12, true),
    firstIndex: view.getFloat64(20, true),
  };
  if (header.version !== WAL_FORMAT_VERSION) {
    throw new Error(
      `segment written in WAL format ${header.version}; this build reads format ${WAL_FORMAT_VERSION}`,
    );
  }
  if (!isCount(header.seq) || !isCount(header.firstIndex)) {
    throw new Error("segment header holds invalid numbers");
  }
  return header;
}

export function encodeEntries(entries: Entry[]): Uint8Array {
  return packr.pack(entries);
}

export function decodeEntries(payload: Uint8Array): Entry[] {
  const raw: unknown = packr.unpack(payload);
  if (!Array.isArray(raw) || raw.length === 0) throw new Error("entries record holds no entry list");
  return raw.map((item: unknown, i) => {
    const e = item as Record<string, unknown> | null;
    if (typeof e !== "object" || e === null || !isCount(e.term) || !isCount(e.index)) {
      throw new Error(`entry ${i} of an entries record is malformed`);
    }
    if (e.type !== "normal" && e.type !== "conf") {
      throw new Error(`entry ${e.index} has unknown type ${e.type}`);
    }
    const entry: Entry = { term: e.term, index: e.index, type: e.type };
    if (e.data !== undefined) entry.data = asPlainBytes(e.data, `data of entry ${e.index}`);
    if (e.change !== undefined) entry.change = e.change as ConfChange;
    if (i > 0 && entry.index !== raw[i - 1].index + 1) {
      throw new Error(`entry indexes jump to ${entry.index}`);
    }
    return entry;
  });
}

export function encodeHardState(hs: HardState): Uint8Array {
  return packr.pack([hs.term, hs.vote, hs.commit]);
}

export function decodeHardState(payload: Uint8Array): HardState {
  const raw: unknown = packr.unpack(payload);
  if (!Array.isArray(raw) || raw.length !== 3 || !raw.every(isCount)) {
    throw new Error("hard state record is malformed");
  }
  return { term: raw[0], vote: raw[1], commit: raw[2] };
}

export function encodeSnapshotMarker(marker: SnapshotMarker): Uint8Array {
  return packr.pack([marker.index, marker.term]);
}

export function decodeSnapshotMarker(payload: Uint8Array): SnapshotMarker {
  const raw: unknown = packr.unpack(payload);
  if (!Array.isArray(raw) || raw.length !== 2 || !raw.every(isCount)) {
    throw new Error("snapshot marker is malformed");
  }
  return { index: raw[0], term: raw[1] };
}

import { crc32 } from "./crc32.ts";

/**
 * One WAL record on disk (little-endian):
 *
 *   u32 payload length | u8 type (+0x80: last record of a write batch) | u32 batch start offset |
 *   u32 payload CRC-32 | u32 header CRC-32 (of the 13 bytes before it) | payload
 *
 * The header has its own checksum so that a reader can resynchronise cheaply after damage, and
 * the batch fields let it tell a torn last write (never acknowledged, safe to cut) from damage to
 * data that was already fsynced (never safe to cut): see segment_scan.ts.
 */
export const RECORD_HEADER_BYTES = 17;

export enum RecordType {
  SegmentHeader = 1,
  Entries = 2,
  HardState = 3,
  SnapshotMarker = 4,
}

const ENDS_BATCH = 0x80;
const MAX_TYPE = RecordType.SnapshotMarker;

export interface PendingRecord {
  type: RecordType;
  payload: Uint8Array;
}

export interface WalRecord {
  type: RecordType;
  payload: Uint8Array;
  /** Byte offset of the record's header in its segment. */
  offset: number;
  /** Byte offset just past the record. */
  end: number;
  /** Offset of the first record of the write (write + fdatasync) this record was part of. */
  batchStart: number;
  endsBatch: boolean;
}

export type DecodeResult = { ok: true; record: WalRecord } | { ok: false; problem: string };

/** Encode `records` as one write batch that will start at byte `batchStart` of its segment. */
export function encodeBatch(records: PendingRecord[], batchStart: number): Uint8Array {
  let size = 0;
  for (const r of records) size += RECORD_HEADER_BYTES + r.payload.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  records.forEach((r, i) => {
    const endsBatch = i === records.length - 1;
    view.setUint32(at, r.payload.length, true);
    view.setUint8(at + 4, r.type | (endsBatch ? ENDS_BATCH : 0));
    view.setUint32(at + 5, batchStart, true);
    view.setUint32(at + 9, crc32(r.payload), true);
    view.setUint32(at + 13, crc32(out.subarray(at, at + 13)), true);
    out.set(r.payload, at + RECORD_HEADER_BYTES);
    at += RECORD_HEADER_BYTES + r.payload.length;
  });
  return out;
}

/** Decode the record whose header starts at `offset`, checking both checksums. Never throws. */
export function decodeRecordAt(bytes: Uint8Array, offset: number): DecodeResult {
  if (bytes.length - offset < RECORD_HEADER_BYTES) return { ok: false, problem: "incomplete record header" };
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, RECORD_HEADER_BYTES);
  if (crc32(bytes.subarray(offset, offset + 13)) !== view.getUint32(13, true)) {
    return { ok: false, problem: "record header checksum mismatch" };
  }
  const length = view.getUint32(0, true);
  const typeByte = view.getUint8(4);
  const type = typeByte & ~ENDS_BATCH;
  const batchStart = view.getUint32(5, true);
  if (type < 1 || type > MAX_TYPE) return { ok: false, problem: `unknown record type ${type}` };
  if (batchStart > offset) return { ok: false, problem: `batch start ${batchStart} lies after the record` };
  const end = offset + RECORD_HEADER_BYTES + length;
  if (end > bytes.length) {
    return { ok: false, problem: `record of ${length} bytes runs past the end of the file` };
  }
  const payload = bytes.subarray(offset + RECORD_HEADER_BYTES, end);
  if (crc32(payload) !== view.getUint32(9, true)) return { ok: false, problem: "payload checksum mismatch" };
  return {
    ok: true,
    record: { type, payload, offset, end, batchStart, endsBatch: (typeByte & ENDS_BATCH) !== 0 },
  };
}

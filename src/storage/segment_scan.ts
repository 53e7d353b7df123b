import { StorageCorruptionError } from "./errors.ts";
import { decodeRecordAt, RECORD_HEADER_BYTES, RecordType, type WalRecord } from "./record_codec.ts";

export interface SegmentScan {
  /** The records of every complete write batch, in file order. */
  records: WalRecord[];
  /** Length of the valid prefix: the end of the last complete batch. */
  validBytes: number;
  /** Bytes after `validBytes`: a torn last write (only ever non-zero for the last segment). */
  tornBytes: number;
  /** Zero bytes after `validBytes`: the writer's pre-zeroed runway, not yet written to (see wal_writer.ts). */
  runwayBytes: number;
}

/**
 * Read one segment's records. Batches are written one at a time, each followed by an fdatasync
 * before the next begins, so only the last batch of the last segment can be torn by a crash, and
 * that batch was never acknowledged: it is cut off whole. Zeros from the end of the last complete
 * batch to the end of the file are the writer's runway, a clean end in any segment. Anything else
 * that fails its checksum is damage to acknowledged data and throws StorageCorruptionError. Never
 * loops forever: every step moves forward in the buffer.
 */
export function scanSegment(bytes: Uint8Array, file: string, isLastSegment: boolean): SegmentScan {
  const records: WalRecord[] = [];
  let at = 0;
  let completeEnd = 0;
  let damage: { offset: number; problem: string } | undefined;
  while (at < bytes.length) {
    const decoded = decodeRecordAt(bytes, at);
    if (!decoded.ok) {
      damage = { offset: at, problem: decoded.problem };
      break;
    }
    const record = decoded.record;
    const expectedBatchStart = at === completeEnd ? at : records[records.length - 1].batchStart;
    if (record.batchStart !== expectedBatchStart) {
      damage = {
        offset: at,
        problem: `record claims its write began at byte ${record.batchStart}, expected ${expectedBatchStart}`,
      };
      break;
    }
    records.push(record);
    at = record.end;
    if (record.endsBatch) completeEnd = at;
  }
  if (!damage && completeEnd < bytes.length) {
    damage = { offset: bytes.length, problem: "the last write batch has no closing record" };
  }
  if (!damage) return { records, validBytes: completeEnd, tornBytes: 0, runwayBytes: 0 };
  if (allZero(bytes, completeEnd)) {
    // Zeros never decode as a record (the CRC-32 of a zero header is not 0), so nothing written
    // after completeEnd reached the disk: a clean end, in any segment.
    return {
      records,
      validBytes: completeEnd,
      tornBytes: 0,
      runwayBytes: bytes.length - completeEnd,
    };
  }
  if (!isLastSegment) {
    throw new StorageCorruptionError(
      file,
      damage.offset,
      `${damage.problem} in a segment that is not the last`,
    );
  }
  const laterWrite = findLaterWrite(bytes, damage.offset);
  if (laterWrite !== undefined) {
    throw new StorageCorruptionError(
      file,
      damage.offset,
      `${damage.problem}, yet a later write follows at byte ${laterWrite}, so this is not a torn tail`,
    );
  }
  return {
    records: records.filter((r) => r.end <= completeEnd),
    validBytes: completeEnd,
    tornBytes: bytes.length - completeEnd,
    runwayBytes: 0,
  };
}

function allZero(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * Offset of a valid record that belongs to a write batch begun after `damageOffset`, if any.
 * Such a record proves that the damaged one was fsynced (and perhaps acknowledged) before it.
 */
function findLaterWrite(bytes: Uint8Array, damageOffset: number): number | undefined {
  for (let p = damageOffset + 1; p + RECORD_HEADER_BYTES <= bytes.length; p++) {
    // Cheap filters first (type byte, batch start, length) so a 64 MiB scan stays fast.
    const type = bytes[p + 4] & 0x7f;
    if (type < RecordType.SegmentHeader || type > RecordType.SnapshotMarker) continue;
    const batchStart = (bytes[p + 5] | bytes[p + 6] << 8 | bytes[p + 7] << 16 | bytes[p + 8] << 24) >>> 0;
    if (batchStart <= damageOffset || batchStart > p) continue;
    const decoded = decodeRecordAt(bytes, p);
    if (decoded.ok) return p;
  }
  return undefined;
}

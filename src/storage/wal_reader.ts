import { syncDir } from "./atomic_write.ts";
import { StorageCorruptionError } from "./errors.ts";
import { RecordType, type WalRecord } from "./record_codec.ts";
import { scanSegment } from "./segment_scan.ts";
import { decodeSegmentHeader, type SegmentHeader } from "./wal_payloads.ts";

const SEGMENT_NAME = /^wal-(\d{16})\.log$/;

export function segmentName(seq: number): string {
  return `wal-${String(seq).padStart(16, "0")}.log`;
}

export interface ReadSegment {
  name: string;
  header: SegmentHeader;
  /** Records after the segment header, in file order. */
  records: WalRecord[];
  /** Size of the valid records (after any torn tail was cut): where the next write goes. */
  bytes: number;
  /** Size of the file: `bytes` plus the pre-zeroed runway after them. */
  fileBytes: number;
  /** Size of the segment's first write: its header and the records carried over into it. */
  openingBytes: number;
}

export interface ReadWalResult {
  segments: ReadSegment[];
  /** The sequence number the next new segment must take. */
  nextSeq: number;
}

/**
 * Read every WAL segment of `dir` in order. A torn last write of the last segment is cut off
 * (the file is truncated and fsynced, or removed when nothing valid is left) and logged; any
 * other damage, or a missing segment, throws StorageCorruptionError.
 */
export async function readWal(dir: string, log: (line: string) => void): Promise<ReadWalResult> {
  const seqs: number[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const match = entry.isFile ? SEGMENT_NAME.exec(entry.name) : null;
    if (match) seqs.push(Number(match[1]));
  }
  seqs.sort((a, b) => a - b);
  const segments: ReadSegment[] = [];
  for (const [i, seq] of seqs.entries()) {
    const path = `${dir}/${segmentName(seq)}`;
    if (i > 0 && seq !== seqs[i - 1] + 1) {
      throw new StorageCorruptionError(
        `${dir}/${segmentName(seqs[i - 1] + 1)}`,
        0,
        `WAL segment ${seqs[i - 1] + 1} is missing between ${seqs[i - 1]} and ${seq}`,
      );
    }
    const isLast = i === seqs.length - 1;
    const scan = scanSegment(await Deno.readFile(path), path, isLast);
    if (scan.validBytes === 0) {
      // Only the last segment can be empty: a crash while it was being created, before anything relied on it.
      if (!isLast) throw new StorageCorruptionError(path, 0, "an empty segment that is not the last");
      await Deno.remove(path);
      await syncDir(dir);
      log(`WAL ${path}: removed a segment whose first write was torn (${scan.tornBytes} bytes cut)`);
      return { segments, nextSeq: seq };
    }
    if (scan.tornBytes > 0) {
      await truncateFile(path, scan.validBytes);
      log(`WAL ${path}: cut ${scan.tornBytes} bytes of a torn last write at byte ${scan.validBytes}`);
    }
    segments.push(checkSegment(path, seq, scan.records, scan.validBytes, scan.validBytes + scan.runwayBytes));
  }
  return { segments, nextSeq: seqs.length > 0 ? seqs[seqs.length - 1] + 1 : 1 };
}

function checkSegment(
  path: string,
  seq: number,
  records: WalRecord[],
  bytes: number,
  fileBytes: number,
): ReadSegment {
  const [first, ...rest] = records;
  if (first.type !== RecordType.SegmentHeader) {
    throw new StorageCorruptionError(path, 0, "the segment does not start with a segment header");
  }
  let header: SegmentHeader;
  try {
    header = decodeSegmentHeader(first.payload);
  } catch (error) {
    throw new StorageCorruptionError(path, 0, (error as Error).message);
  }
  if (header.seq !== seq) {
    throw new StorageCorruptionError(
      path,
      0,
      `the segment header says segment ${header.seq}, the file name ${seq}`,
    );
  }
  const stray = rest.find((r) => r.type === RecordType.SegmentHeader);
  if (stray) {
    throw new StorageCorruptionError(path, stray.offset, "a segment header in the middle of a segment");
  }
  const openingEnd = records.find((r) => r.endsBatch)!.end;
  return {
    name: path.slice(path.lastIndexOf("/") + 1),
    header,
    records: rest,
    bytes,
    fileBytes,
    openingBytes: openingEnd,
  };
}

async function truncateFile(path: string, validBytes: number): Promise<void> {
  const file = await Deno.open(path, { write: true });
  try {
    await file.truncate(validBytes);
    await file.sync();
  } finally {
    file.close();
  }
}

import type { Entry, HardState } from "../raft/types.ts";
import { StorageCorruptionError } from "./errors.ts";
import { RecordType, type WalRecord } from "./record_codec.ts";
import {
  decodeEntries,
  decodeHardState,
  decodeSnapshotMarker,
  type SegmentHeader,
  type SnapshotMarker,
} from "./wal_payloads.ts";

export interface ReplayedSegment {
  name: string;
  header: SegmentHeader;
  records: WalRecord[];
}

export interface ReplayedWal {
  /** The log the WAL describes: consecutive entries, later writes replacing earlier ones. */
  log: Entry[];
  hardState?: HardState;
  /** Where the last hard state record lies, to name it if it turns out inconsistent. */
  hardStateFile?: string;
  hardStateOffset?: number;
  /** The snapshot marker with the highest index: this node once held that snapshot durably. */
  newestMarker?: SnapshotMarker;
  /** Highest entry index written to each segment (0 if none), in segment order. */
  segmentMaxIndex: number[];
}

/**
 * Replay the records of all segments in order, the way Raft built its log: an entries batch
 * replaces everything from its first index on; a snapshot marker keeps the log when it agrees with
 * the snapshot (a local compaction) and clears it otherwise (a snapshot from the leader replaced a
 * log that disagreed with it or was shorter).
 */
export function replayWal(dir: string, segments: ReplayedSegment[]): ReplayedWal {
  let log: Entry[] = [];
  const replayed: ReplayedWal = { log, segmentMaxIndex: [] };
  for (const segment of segments) {
    const file = `${dir}/${segment.name}`;
    let maxIndex = 0;
    for (const record of segment.records) {
      const fail = (problem: string) => new StorageCorruptionError(file, record.offset, problem);
      const decode = <T>(decoder: (payload: Uint8Array) => T): T => {
        try {
          return decoder(record.payload);
        } catch (error) {
          throw fail((error as Error).message);
        }
      };
      switch (record.type) {
        case RecordType.Entries: {
          const batch = decode(decodeEntries);
          log = appendBatch(log, batch, fail);
          maxIndex = Math.max(maxIndex, batch[batch.length - 1].index);
          break;
        }
        case RecordType.HardState:
          replayed.hardState = decode(decodeHardState);
          replayed.hardStateFile = file;
          replayed.hardStateOffset = record.offset;
          break;
        case RecordType.SnapshotMarker: {
          const marker = decode(decodeSnapshotMarker);
          if (!snapshotKeepsLog(log, marker)) log = [];
          if (marker.index >= (replayed.newestMarker?.index ?? 0)) replayed.newestMarker = marker;
          break;
        }
        default:
          throw fail(`unexpected record type ${record.type}`);
      }
    }
    replayed.segmentMaxIndex.push(maxIndex);
  }
  replayed.log = log;
  return replayed;
}

/**
 * Whether a log stays valid under a snapshot: it holds the snapshot's last entry, or starts after
 * it (the segments before were released under an older snapshot; Raft never installs a snapshot
 * older than what it has committed, so this marker was a compaction).
 */
export function snapshotKeepsLog(log: Entry[], snapshot: SnapshotMarker): boolean {
  if (log.length > 0 && snapshot.index < log[0].index) return true;
  return termAt(log, snapshot.index) === snapshot.term;
}

/** Term of the entry at `index` in the consecutive `log`, or undefined when it is not there. */
export function termAt(log: Entry[], index: number): number | undefined {
  return log.length > 0 ? log[index - log[0].index]?.term : undefined;
}

function appendBatch(log: Entry[], batch: Entry[], fail: (problem: string) => Error): Entry[] {
  const first = batch[0].index;
  if (log.length === 0 || first <= log[0].index) return batch.slice();
  const last = log[log.length - 1].index;
  if (first > last + 1) {
    throw fail(`entries jump from index ${last} to ${first}: records between them are missing`);
  }
  log.length = first - log[0].index;
  for (const entry of batch) log.push(entry);
  return log;
}

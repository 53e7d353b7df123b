import type { Entry, HardState, Snapshot } from "../raft/types.ts";
import { StorageCorruptionError } from "./errors.ts";
import { replayWal, snapshotKeepsLog, termAt } from "./log_replay.ts";
import { RecordType } from "./record_codec.ts";
import {
  checkSnapshotFile,
  listSnapshotFiles,
  readSnapshotImage,
  type SnapshotFileName,
  type SnapshotImageLocation,
} from "./snapshot_file.ts";
import { encodeHardState } from "./wal_payloads.ts";
import { readWal } from "./wal_reader.ts";
import type { WalWriterState } from "./wal_writer.ts";

export interface RecoveredState {
  /** {term: 0, vote: 0, commit: 0} when fresh. */
  hardState: HardState;
  /** The newest valid snapshot, if any (with empty data when its image is left in its file). */
  snapshot?: Snapshot;
  /**
   * Where the snapshot's image lies in its checked file, when recovery was asked to leave it
   * there (RecoveryOptions.imageInFile): the caller decodes it from the file in pieces.
   */
  snapshotImage?: SnapshotImageLocation;
  /** Entries after snapshot.meta.index, consecutive, later writes replacing earlier ones at the same index. */
  entries: Entry[];
  /** The directory held no WAL and no snapshot (a new or wiped member). */
  fresh: boolean;
}

export interface SnapshotFileInfo extends SnapshotFileName {
  bytes: number;
}

export interface Recovery {
  recovered: RecoveredState;
  writer: WalWriterState;
  /** Valid snapshot files, newest first. */
  snapshots: SnapshotFileInfo[];
  /** Snapshot files that failed verification, with why. */
  damagedSnapshots: { file: SnapshotFileName; problem: string }[];
}

export interface RecoveryOptions {
  /**
   * Leave the newest snapshot's image in its file (recovered.snapshotImage says where) instead of
   * reading it into `snapshot.data`. Either way the whole file's CRC is checked first, a piece at a
   * time, so a damaged file falls back to an older one before anything of it is used.
   */
  imageInFile?: boolean;
}

/**
 * Rebuild a member's persistent Raft state from its directory. The recovered state must include
 * the newest snapshot the member ever saved (named by the newest snapshot file or WAL marker):
 * from that snapshot itself or, when its file is damaged, from an older one plus the WAL
 * entries that lead up to it. Otherwise, or when entries are missing, StorageCorruptionError.
 */
export async function recover(
  dir: string,
  log: (line: string) => void,
  options: RecoveryOptions = {},
): Promise<Recovery> {
  const wal = await readWal(dir, log);
  const replayed = replayWal(dir, wal.segments);
  const snapshotFiles = await listSnapshotFiles(dir);
  if (wal.segments.length === 0 && snapshotFiles.length > 0) {
    throw new StorageCorruptionError(
      `${dir}/${snapshotFiles[0].name}`,
      0,
      "snapshot files without any WAL segment: the hard state (term, vote) is lost",
    );
  }
  const snapshots: SnapshotFileInfo[] = [];
  const damagedSnapshots: Recovery["damagedSnapshots"] = [];
  let snapshot: Snapshot | undefined;
  let snapshotImage: SnapshotImageLocation | undefined;
  for (const file of snapshotFiles) {
    try {
      // Every file is checked a piece at a time (never read whole: at 1M keys of 100 B one is ~120 MB,
      // on top of the state decoded from it); the newest valid one is the state.
      const checked = await checkSnapshotFile(dir, file);
      if (!snapshot) {
        if (options.imageInFile) {
          snapshot = { meta: checked.meta, data: new Uint8Array(0) };
          snapshotImage = checked.image;
        } else snapshot = { meta: checked.meta, data: await readSnapshotImage(checked.image) };
      }
      snapshots.push({ ...file, bytes: checked.fileBytes });
    } catch (error) {
      damagedSnapshots.push({ file, problem: (error as Error).message });
    }
  }

  const damagedNote = damagedSnapshots.length === 0
    ? ""
    : ` (damaged snapshot files: ${damagedSnapshots.map((d) => `${d.file.name}: ${d.problem}`).join("; ")})`;
  const entries = entriesAfter(dir, replayed.log, snapshot, wal.segments[0]?.name, damagedNote);
  const lastIndex = entries.length > 0 ? entries[entries.length - 1].index : snapshot?.meta.index ?? 0;
  const newestKnown = [replayed.newestMarker, snapshotFiles[0]].reduce(
    (a, b) => (b && (!a || b.index > a.index) ? b : a),
    undefined,
  );
  if (newestKnown && newestKnown.index > (snapshot?.meta.index ?? 0)) {
    const rebuilt = termAt(entries, newestKnown.index) === newestKnown.term;
    const damage = damagedSnapshots.find((d) => d.file.index === newestKnown.index);
    const what = `snapshot ${newestKnown.index} (term ${newestKnown.term}) ` +
      (damage ? `is unreadable (${damage.problem})` : "is missing");
    const base = snapshot ? `snapshot ${snapshot.meta.index}` : "the start of the log";
    if (!rebuilt) {
      throw new StorageCorruptionError(
        `${dir}/${damage?.file.name ?? "snap-*.snap"}`,
        0,
        `${what} and the WAL does not hold the entries from ${base} up to it`,
      );
    }
    log(`${what}; recovered the same state from ${base} and the WAL entries after it`);
  }
  const hardState = replayed.hardState ?? { term: 0, vote: 0, commit: 0 };
  if (hardState.commit > lastIndex) {
    throw new StorageCorruptionError(
      replayed.hardStateFile!,
      replayed.hardStateOffset!,
      `the hard state says entries up to ${hardState.commit} are committed, but storage holds only up to ${lastIndex}`,
    );
  }

  const segmentMaxIndex = replayed.segmentMaxIndex;
  return {
    recovered: {
      hardState,
      ...(snapshot ? { snapshot } : {}),
      ...(snapshotImage ? { snapshotImage } : {}),
      entries,
      fresh: wal.segments.length === 0 && snapshotFiles.length === 0,
    },
    writer: {
      segments: wal.segments.map((s, i) => ({
        seq: s.header.seq,
        name: s.name,
        bytes: s.bytes,
        fileBytes: s.fileBytes,
        openingBytes: s.openingBytes,
        maxIndex: segmentMaxIndex[i],
      })),
      nextSeq: wal.nextSeq,
      highestIndex: Math.max(lastIndex, ...segmentMaxIndex),
      carried: replayed.hardState
        ? [{ type: RecordType.HardState, payload: encodeHardState(replayed.hardState), carryOver: true }]
        : [],
    },
    snapshots,
    damagedSnapshots,
  };
}

/** The log entries that follow `snapshot` (all of them when there is none). */
function entriesAfter(
  dir: string,
  log: Entry[],
  snapshot: Snapshot | undefined,
  firstSegment: string | undefined,
  damagedNote: string,
): Entry[] {
  if (log.length === 0) return [];
  const base = snapshot?.meta.index ?? 0;
  const first = log[0].index;
  const last = log[log.length - 1].index;
  if (first > base + 1) {
    throw new StorageCorruptionError(
      `${dir}/${firstSegment}`,
      0,
      `the WAL starts at entry ${first}, but ${
        snapshot ? `the newest readable snapshot ends at ${base}` : "there is no readable snapshot"
      }: entries ${base + 1}..${first - 1} are missing${damagedNote}`,
    );
  }
  if (last <= base) return [];
  // The log holds the snapshot's last entry: keep what follows, unless it disagrees (the snapshot came
  // from the leader and the crash struck before its WAL marker cleared this log).
  if (snapshot && !snapshotKeepsLog(log, snapshot.meta)) return [];
  return log.slice(base + 1 - first);
}

import type { Entry, HardState, Snapshot } from "../raft/types.ts";
import { syncDir } from "./atomic_write.ts";
import { lockDir } from "./dir_lock.ts";
import { removeGradually } from "./gradual_remove.ts";
import { isCount } from "./packr.ts";
import { RecordType } from "./record_codec.ts";
import { recover, type RecoveredState, type SnapshotFileInfo } from "./recovery.ts";
import { SnapshotDataReader, SnapshotFileWriter, writeSnapshotFile } from "./snapshot_file.ts";
import { TermRuns } from "./term_runs.ts";
import { encodeEntries, encodeHardState, encodeSnapshotMarker } from "./wal_payloads.ts";
import { WalWriter } from "./wal_writer.ts";

export type { RecoveredState } from "./recovery.ts";
export { StorageCorruptionError, StorageLockedError } from "./errors.ts";
export { WalWriteError } from "./wal_writer.ts";

export interface RaftStorageOptions {
  /** A segment rolls over once the next write would take it past this size. Default 64 MiB. */
  segmentBytes?: number;
  /** Where recovery reports what it repaired. Default: stderr. */
  log?: (line: string) => void;
  /**
   * Wait one macrotask before each write so that concurrent save() calls share its fdatasync
   * (default true). A caller that already batches and never saves concurrently, such as the node
   * driver (one save per Ready), turns it off to save the extra hop on every write.
   */
  coalesce?: boolean;
  /**
   * Leave the recovered snapshot's image in its file: `recovered.snapshot.data` is empty and
   * `recovered.snapshotImage` says where the image lies, for the caller to decode from the file a
   * piece at a time (a restarted member's peak memory is then the state, not the state plus the
   * image). Default false: the image is read into `snapshot.data`.
   */
  snapshotImageInFile?: boolean;
}

export interface RaftStorageStats {
  segments: number;
  walBytes: number;
  syncs: number;
  recordsWritten: number;
  lastSnapshotIndex: number;
  snapshotBytes: number;
}

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const MIN_SEGMENT_BYTES = 1024;
/** Record offsets are 32-bit. */
const MAX_SEGMENT_BYTES = 2 ** 31;
/** A snapshot file being written as its image is encoded (RaftStorage.beginSnapshotFile). */
export interface StreamedSnapshot {
  write(piece: Uint8Array): Promise<void>;
  /** Saves it (file, WAL marker, retention); resolves with the file's size. */
  finish(): Promise<number>;
  abort(): Promise<void>;
}

/** Two snapshots, so that a damaged newest one can be rebuilt from the older one and the WAL. */
const RETAINED_SNAPSHOTS = 2;
/**
 * Snapshot files a crash interrupted: written whole (.tmp), as encoded (.streaming), or while
 * being removed (.removing, see gradual_remove.ts).
 */
const TEMP_FILE = /^snap-.*\.snap\.(tmp|streaming|removing)$/;

/**
 * The durable state of one Raft member in one directory: a WAL of entries, hard states and
 * snapshot markers in checksummed segments, plus snapshot files. `save()` resolving means
 * durable (fdatasync), so the node may then send the messages that depend on it.
 */
export class RaftStorage {
  private readonly inFlightSnapshots = new Set<Promise<unknown>>();
  private lastSnapshotWrite: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Set when saveSnapshot is called, so that an older snapshot is refused even before the newer one is written. */
  private newestSnapshotIndex: number;

  private constructor(
    private readonly dir: string,
    private readonly lock: Deno.FsFile,
    private readonly wal: WalWriter,
    private readonly shape: TermRuns,
    /** Snapshot files kept, newest first. */
    private snapshots: SnapshotFileInfo[],
  ) {
    this.newestSnapshotIndex = snapshots[0]?.index ?? 0;
  }

  static async open(
    dir: string,
    options: RaftStorageOptions = {},
  ): Promise<{ storage: RaftStorage; recovered: RecoveredState }> {
    const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (
      !Number.isSafeInteger(segmentBytes) || segmentBytes < MIN_SEGMENT_BYTES ||
      segmentBytes > MAX_SEGMENT_BYTES
    ) {
      throw new RangeError(
        `segmentBytes must be an integer from ${MIN_SEGMENT_BYTES} to ${MAX_SEGMENT_BYTES}`,
      );
    }
    const log = options.log ?? ((line: string) => console.error(`storage: ${line}`));
    await Deno.mkdir(dir, { recursive: true });
    const lock = await lockDir(dir);
    try {
      await removeTempFiles(dir);
      const recovery = await recover(dir, log, { imageInFile: options.snapshotImageInFile });
      for (const { file, problem } of recovery.damagedSnapshots) {
        await Deno.rename(`${dir}/${file.name}`, `${dir}/${file.name}.damaged`);
        log(`snapshot ${file.name} is damaged (${problem}); renamed it to ${file.name}.damaged`);
      }
      const wal = await WalWriter.open(dir, segmentBytes, recovery.writer, options.coalesce ?? true);
      const { snapshot, entries } = recovery.recovered;
      const shape = new TermRuns(entries, snapshot?.meta.index ?? 0);
      const storage = new RaftStorage(dir, lock, wal, shape, recovery.snapshots.slice(0, RETAINED_SNAPSHOTS));
      return { storage, recovered: recovery.recovered };
    } catch (error) {
      lock.close();
      throw error;
    }
  }

  /**
   * Durably append entries (which replace stored entries from entries[0].index on) and/or a hard
   * state. Resolves after fdatasync. Calls made while a sync is in flight are batched into the
   * next single write + fdatasync (group commit). With nothing to save, resolves once everything
   * saved before is durable.
   */
  save(entries: Entry[], hardState?: HardState): Promise<void> {
    if (this.closed) return Promise.reject(new Error("storage is closed"));
    const refusal = refuseEntries(entries) ??
      (entries.length > 0 ? this.shape.refuseAppend(entries) : undefined) ??
      (hardState && refuseHardState(hardState, entries.at(-1)?.index ?? this.shape.lastIndex));
    if (refusal) return Promise.reject(new RangeError(`save refused, nothing written: ${refusal}`));
    const records = [];
    if (entries.length > 0) {
      this.shape.append(entries);
      records.push({
        type: RecordType.Entries,
        payload: encodeEntries(entries),
        maxIndex: this.shape.lastIndex,
      });
    }
    if (hardState) {
      records.push({ type: RecordType.HardState, payload: encodeHardState(hardState), carryOver: true });
    }
    return this.wal.append(records);
  }

  /**
   * Atomically persist a snapshot (temp file, fsync, rename, directory fsync), then mark it in the
   * WAL (saves made after this call are written after the marker), then delete snapshot files
   * beyond the newest two and the WAL segments wholly covered by the older of those two.
   * Save a snapshot from the leader before the hard state whose commit index depends on it.
   */
  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    if (this.closed) throw new Error("storage is closed");
    const { index, term } = snapshot.meta ?? {};
    if (!isCount(index) || index < 1 || !isCount(term) || !(snapshot.data instanceof Uint8Array)) {
      throw new RangeError(
        "saveSnapshot refused: a snapshot needs meta.index >= 1, meta.term and data bytes",
      );
    }
    await this.commitSnapshot(index, term, () => writeSnapshotFile(this.dir, snapshot));
  }

  /**
   * Starts a snapshot file written piece by piece as the image is encoded (snapshot_file.ts's
   * SnapshotFileWriter): the caller writes the image, then `finish()` saves it exactly as
   * saveSnapshot would (the index checks happen then), or `abort()` removes it.
   */
  async beginSnapshotFile(meta: Snapshot["meta"]): Promise<StreamedSnapshot> {
    if (this.closed) throw new Error("storage is closed");
    const writer = await SnapshotFileWriter.create(this.dir, meta);
    return {
      write: (piece) => writer.write(piece),
      finish: async () => {
        let bytes = 0;
        await this.commitSnapshot(meta.index, meta.term, async () => {
          const written = await writer.finish();
          bytes = written.bytes;
          return written;
        }).catch(async (e) => {
          await writer.abort();
          throw e;
        });
        return bytes;
      },
      abort: () => writer.abort(),
    };
  }

  /** Reads the data of the saved snapshot `meta` from its file, a piece at a time. */
  openSnapshotData(meta: Snapshot["meta"]): Promise<SnapshotDataReader> {
    return SnapshotDataReader.open(this.dir, meta);
  }

  private async commitSnapshot(
    index: number,
    term: number,
    writeFile: () => Promise<{ name: string; bytes: number }>,
  ): Promise<void> {
    if (this.closed) throw new Error("storage is closed");
    if (index < this.newestSnapshotIndex) {
      throw new RangeError(
        `saveSnapshot refused: snapshot ${index} is older than the saved snapshot ${this.newestSnapshotIndex}`,
      );
    }
    this.newestSnapshotIndex = index;
    this.shape.applySnapshot(index, term);
    const fileWritten = this.lastSnapshotWrite.catch(() => undefined).then(writeFile);
    this.lastSnapshotWrite = fileWritten;
    const marker = this.wal.append(
      fileWritten.then(
        () => [{ type: RecordType.SnapshotMarker, payload: encodeSnapshotMarker({ index, term }) }],
      ),
    );
    const done = Promise.all([fileWritten, marker]);
    this.inFlightSnapshots.add(done);
    try {
      const [written] = await done;
      await this.retain({ name: written.name, index, term, bytes: written.bytes });
    } finally {
      this.inFlightSnapshots.delete(done);
    }
  }

  stats(): RaftStorageStats {
    return {
      segments: this.wal.segments.length,
      walBytes: this.wal.walBytes(),
      syncs: this.wal.syncs,
      recordsWritten: this.wal.recordsWritten,
      lastSnapshotIndex: this.snapshots[0]?.index ?? 0,
      snapshotBytes: this.snapshots[0]?.bytes ?? 0,
    };
  }

  /** Wait for writes in flight, then release the files and the directory lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled(this.inFlightSnapshots);
    await this.wal.close();
    this.lock.close();
  }

  private async retain(saved: SnapshotFileInfo): Promise<void> {
    this.snapshots = [saved, ...this.snapshots.filter((s) => s.name !== saved.name)]
      .sort((a, b) => b.index - a.index);
    const doomed = this.snapshots.splice(RETAINED_SNAPSHOTS);
    for (const old of doomed) await removeGradually(this.dir, old.name);
    if (doomed.length > 0) await syncDir(this.dir);
    if (this.snapshots.length === RETAINED_SNAPSHOTS) await this.wal.releaseThrough(this.snapshots[1].index);
  }
}

function refuseEntries(entries: Entry[]): string | undefined {
  for (const [i, e] of entries.entries()) {
    if (!isCount(e.index) || e.index < 1 || !isCount(e.term)) {
      return `entry ${i} needs a positive index and a term`;
    }
    if (i > 0 && e.index !== entries[i - 1].index + 1) {
      return `entry indexes jump from ${entries[i - 1].index} to ${e.index}`;
    }
    if (e.data !== undefined && !(e.data instanceof Uint8Array)) {
      return `entry ${e.index} has non-binary data`;
    }
  }
  return undefined;
}

/** A commit index past the stored log would make the next recovery fail: the entries it commits are missing. */
function refuseHardState(hs: HardState, lastIndex: number): string | undefined {
  if (!isCount(hs.term) || !isCount(hs.vote) || !isCount(hs.commit)) {
    return "hard state fields must be integers >= 0";
  }
  if (hs.commit > lastIndex) {
    return `hard state commits up to ${hs.commit} but the log ends at ${lastIndex} ` +
      "(save the entries, or the snapshot, before or with the hard state)";
  }
  return undefined;
}

async function removeTempFiles(dir: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && TEMP_FILE.test(entry.name)) await Deno.remove(`${dir}/${entry.name}`);
  }
}

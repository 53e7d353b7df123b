/**
 * The production NodeStore: the WAL and snapshots of src/storage/ in `<dataDir>/raft`, plus two
 * small files inside that directory that belong to the storage incarnation:
 *
 *   raft/INCARNATION        the random nonce of this storage, written once at creation
 *   raft/AWAITING-LEARNER   present while a node that joined with empty storage may not vote
 *
 * Creation is atomic: the directory is built as `raft.creating/` (incarnation, marker, and for a
 * bootstrapping node its first snapshot and hard state, all fsynced) and renamed to `raft/`, then
 * the data directory is fsynced. A crash before the rename leaves no storage: the next start
 * removes `raft.creating/` and creates it again. So "fresh" and "quarantined" are decided in one
 * step, and a wiped `raft/` is always a new incarnation, whatever `identity.json` says.
 *
 * Storage written by older raft-kv versions (no INCARNATION file) keeps working: its incarnation
 * is the one recorded in identity.json and its marker the old `<dataDir>/awaiting-learner` file.
 * A `raft/` without INCARNATION that holds nothing at all is the trace of an older version's
 * interrupted creation (the crash window this layout closes) and is created again, quarantined.
 */
import type { Entry, HardState, Snapshot, SnapshotMeta } from "../raft/mod.ts";
import { RaftStorage } from "../storage/raft_storage.ts";
import { atomicWriteFile, syncDir } from "../storage/atomic_write.ts";
import type { Done, FreshStorage, NodeStore, RecoveredNode, SnapshotImageWriter } from "./node_store.ts";
import type { SnapshotDataReader } from "../storage/snapshot_file.ts";
import { IncomingSnapshots, type StagedImage } from "./incoming_snapshots.ts";
import type { SnapshotStage } from "../transport/snapshot_stream.ts";
import { isAwaitingLearner as legacyAwaitingLearner, readIdentity, setAwaitingLearner } from "./identity.ts";

const INCARNATION_FILE = "INCARNATION";
const AWAITING_LEARNER_FILE = "AWAITING-LEARNER";

export interface FileNodeStoreOptions {
  dataDir: string;
  log: (line: string) => void;
}

export class FileNodeStore implements NodeStore {
  private storage: RaftStorage | undefined;
  private legacyMarker = false;

  /** Leader snapshots received into files (incoming_snapshots.ts). */
  private readonly incoming: IncomingSnapshots;

  constructor(private readonly opts: FileNodeStoreOptions) {
    this.incoming = new IncomingSnapshots(`${opts.dataDir}/snapshot-incoming`);
  }

  get raftDir(): string {
    return `${this.opts.dataDir}/raft`;
  }

  /** The underlying storage, for statistics. */
  get raftStorage(): RaftStorage | undefined {
    return this.storage;
  }

  open(fresh: () => FreshStorage, done: (error: Error | undefined, recovered?: RecoveredNode) => void): void {
    this.openAsync(fresh).then((r) => done(undefined, r), (e) => done(e as Error));
  }

  save(entries: Entry[], hardState: HardState | undefined, done: Done): void {
    this.mustBeOpen().save(entries, hardState).then(() => done(), (e) => done(e as Error));
  }

  saveSnapshot(snapshot: Snapshot, done: Done): void {
    this.mustBeOpen().saveSnapshot(snapshot).then(() => done(), (e) => done(e as Error));
  }

  beginSnapshot(
    meta: SnapshotMeta,
    done: (error: Error | undefined, writer?: SnapshotImageWriter) => void,
  ): void {
    this.mustBeOpen().beginSnapshotFile(meta).then((file) =>
      done(undefined, {
        write: (piece, done) => file.write(piece).then(() => done(), (e) => done(e as Error)),
        finish: (done) => file.finish().then((bytes) => done(undefined, bytes), (e) => done(e as Error)),
        abort: () => void file.abort(),
      }), (e) => done(e as Error));
  }

  /** A file for an incoming snapshot's image (the transport's stageSnapshot). */
  stageSnapshot(meta: SnapshotMeta, size: number): Promise<SnapshotStage> {
    return this.incoming.stage(meta, size);
  }

  stagedSnapshot(meta: SnapshotMeta): StagedImage | undefined {
    return this.incoming.image(meta);
  }

  /**
   * Makes a staged leader snapshot durable, as saveSnapshot does: its image is copied from the
   * staged file into a snapshot file a piece at a time, then the staged files it supersedes go.
   */
  saveStagedSnapshot(meta: SnapshotMeta, done: Done): void {
    const image = this.incoming.image(meta);
    if (!image) return done(new Error(`no staged image for the snapshot at index ${meta.index}`));
    const copy = async () => {
      const writer = await this.mustBeOpen().beginSnapshotFile(meta);
      try {
        using file = await Deno.open(image.path, { read: true });
        const piece = new Uint8Array(1024 * 1024);
        let copied = 0;
        for (let n = await file.read(piece); n !== null; n = await file.read(piece)) {
          await writer.write(piece.slice(0, n));
          copied += n;
        }
        if (copied !== image.size) {
          throw new Error(`staged image has ${copied} bytes, expected ${image.size}`);
        }
        await writer.finish();
      } catch (error) {
        await writer.abort();
        throw error;
      }
      await this.incoming.discardUpTo(meta.index);
    };
    copy().then(() => done(), (e) => done(e as Error));
  }

  /** The data of a saved snapshot, read from its file a piece at a time (to send it to a follower). */
  openSnapshotData(meta: SnapshotMeta): Promise<SnapshotDataReader> {
    return this.mustBeOpen().openSnapshotData(meta);
  }

  clearAwaitingLearner(done: Done): void {
    const clear = async () => {
      await Deno.remove(`${this.raftDir}/${AWAITING_LEARNER_FILE}`).catch(ignoreNotFound);
      await syncDir(this.raftDir);
      if (this.legacyMarker) await setAwaitingLearner(this.opts.dataDir, false);
    };
    clear().then(() => done(), (e) => done(e as Error));
  }

  close(done: Done): void {
    (this.storage?.close() ?? Promise.resolve()).then(() => done(), (e) => done(e as Error));
  }

  /** A macrotask: timers (ticks, heartbeats) and socket reads run between snapshot slices. */
  yieldThen(fn: () => void): void {
    setTimeout(fn, 0);
  }

  stats() {
    return this.storage?.stats();
  }

  private mustBeOpen(): RaftStorage {
    if (!this.storage) throw new Error("node storage is not open");
    return this.storage;
  }

  private async openAsync(fresh: () => FreshStorage): Promise<RecoveredNode> {
    const { dataDir } = this.opts;
    await Deno.mkdir(dataDir, { recursive: true });
    await Deno.remove(`${dataDir}/raft.creating`, { recursive: true }).catch(ignoreNotFound);
    await this.incoming.reset();
    let created: FreshStorage | undefined;
    let incarnation = await readText(`${this.raftDir}/${INCARNATION_FILE}`);
    if (incarnation === undefined && await exists(this.raftDir)) {
      incarnation = await this.adoptLegacy();
    }
    if (incarnation === undefined) {
      created = fresh();
      await this.create(created);
      incarnation = created.incarnation;
    }
    const { storage, recovered } = await RaftStorage.open(this.raftDir, {
      log: this.opts.log,
      // One save per Ready, never two at once: the Ready is the batch, so no coalescing delay.
      coalesce: false,
      // The driver decodes the image from the file in pieces (a restart's memory is the state's).
      snapshotImageInFile: true,
    });
    this.storage = storage;
    const awaitingLearner = await exists(`${this.raftDir}/${AWAITING_LEARNER_FILE}`) || this.legacyMarker;
    return {
      fresh: created !== undefined,
      incarnation,
      awaitingLearner,
      hardState: recovered.hardState,
      snapshot: recovered.snapshot,
      ...(recovered.snapshotImage ? { snapshotImage: recovered.snapshotImage } : {}),
      entries: recovered.entries,
    };
  }

  /** Builds the whole storage aside and renames it into place: all of it exists, or none. */
  private async create(spec: FreshStorage): Promise<void> {
    const dir = `${this.opts.dataDir}/raft.creating`;
    await Deno.mkdir(dir, { recursive: true });
    const text = (s: string) => new TextEncoder().encode(s);
    await atomicWriteFile(dir, INCARNATION_FILE, text(`${spec.incarnation}\n`));
    if (spec.awaitingLearner) {
      await atomicWriteFile(
        dir,
        AWAITING_LEARNER_FILE,
        text("joined with empty storage: may not vote yet\n"),
      );
    }
    if (spec.snapshot || spec.hardState) {
      const { storage } = await RaftStorage.open(dir, { log: this.opts.log, coalesce: false });
      try {
        if (spec.snapshot) await storage.saveSnapshot(spec.snapshot);
        if (spec.hardState) await storage.save([], spec.hardState);
      } finally {
        await storage.close();
      }
    }
    await syncDir(dir);
    await Deno.rename(dir, this.raftDir);
    await syncDir(this.opts.dataDir);
  }

  /**
   * A `raft/` written before INCARNATION existed. With data in it, it is a real older storage:
   * keep its incarnation (from identity.json) and its marker. Empty, it is what an older
   * version's interrupted creation left: remove it so that it is created again, quarantined.
   */
  private async adoptLegacy(): Promise<string | undefined> {
    const probe = await RaftStorage.open(this.raftDir, {
      log: this.opts.log,
      coalesce: false,
      snapshotImageInFile: true,
    });
    const { hardState, snapshot, entries } = probe.recovered;
    const empty = !snapshot && entries.length === 0 && hardState.term === 0 && hardState.vote === 0;
    await probe.storage.close();
    if (empty) {
      this.opts.log(
        `${this.raftDir} holds no data and no incarnation (an interrupted creation): creating it again`,
      );
      await Deno.remove(this.raftDir, { recursive: true });
      await syncDir(this.opts.dataDir);
      await setAwaitingLearner(this.opts.dataDir, false);
      return undefined;
    }
    const identity = await readIdentity(this.opts.dataDir);
    if (!identity?.incarnation) {
      throw new Error(
        `${this.raftDir} has data but no INCARNATION file, and ${this.opts.dataDir}/identity.json names no ` +
          "incarnation: this storage cannot prove it may vote; remove the data directory and add the node again " +
          "under a new id",
      );
    }
    this.legacyMarker = await legacyAwaitingLearner(this.opts.dataDir);
    await atomicWriteFile(
      this.raftDir,
      INCARNATION_FILE,
      new TextEncoder().encode(`${identity.incarnation}\n`),
    );
    return identity.incarnation;
  }
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return (await Deno.readTextFile(path)).trim() || undefined;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

function ignoreNotFound(e: unknown): void {
  if (!(e instanceof Deno.errors.NotFound)) throw e;
}

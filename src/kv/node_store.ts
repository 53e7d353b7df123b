/**
 * Everything durable a node has, as its driver sees it. Each call completes through a callback
 * (never a promise): the production store (file_node_store.ts) calls back when the file system
 * has made the write durable, and the simulator's store (src/sim/sim_store.ts) calls back when
 * its virtual disk decides, possibly much later, or never if the node crashes first. Callbacks
 * keep the driver deterministic under the simulator: no microtask ordering is involved.
 *
 * A store holds one *incarnation* of a node's Raft storage: a random nonce created together with
 * the storage, atomically, and never again. Lost storage means a new incarnation, whatever the
 * node's id file says; the add-learner change names the incarnation it admits (see node_driver.ts).
 */
import type { Entry, HardState, Snapshot, SnapshotMeta } from "../raft/mod.ts";
import type { SnapshotImageLocation } from "../storage/snapshot_file.ts";

export type Done = (error?: Error) => void;

/** What a new storage incarnation starts with; created atomically with it. */
export interface FreshStorage {
  incarnation: string;
  /** Joined with empty storage: must not vote until added as a learner in this incarnation. */
  awaitingLearner: boolean;
  /** A bootstrapping node's initial snapshot and hard state. */
  snapshot?: Snapshot;
  hardState?: HardState;
}

export interface RecoveredNode {
  /** The storage was created by this open (it did not exist, or its creation never finished). */
  fresh: boolean;
  incarnation: string;
  awaitingLearner: boolean;
  hardState: HardState;
  snapshot?: Snapshot;
  /**
   * With a store that keeps images in files: the snapshot's data is empty and its image is here,
   * checked (CRC) but not read, for the driver to decode from the file a piece at a time.
   */
  snapshotImage?: SnapshotImageLocation;
  entries: Entry[];
}

/** A local snapshot's image being written to the store as it is encoded (NodeStore.beginSnapshot). */
export interface SnapshotImageWriter {
  /** Appends bytes of the image; the caller waits for `done` before the next piece. */
  write(piece: Uint8Array, done: Done): void;
  /** Makes the snapshot durable, as saveSnapshot does; calls back with its size on disk. */
  finish(done: (error: Error | undefined, bytes?: number) => void): void;
  /** Gives up on it (a newer snapshot superseded it, or the node stops). */
  abort(): void;
}

export interface NodeStore {
  /**
   * Recovers the storage, or creates it from `fresh()` if there is none. Creation is atomic: a
   * crash leaves either no storage (the next open creates it again) or all of it, incarnation
   * and awaiting-learner marker included.
   */
  open(fresh: () => FreshStorage, done: (error: Error | undefined, recovered?: RecoveredNode) => void): void;
  /** Durably appends entries (replacing stored ones from entries[0].index on) and/or a hard state. */
  save(entries: Entry[], hardState: HardState | undefined, done: Done): void;
  /** Durably stores a snapshot (from the leader, or taken locally). */
  saveSnapshot(snapshot: Snapshot, done: Done): void;
  /**
   * Optional: a store that keeps snapshot images in files and can write one as it is encoded.
   * With it the driver never holds a whole local image in memory, and the Raft core keeps only
   * the snapshot's metadata (empty data): whoever sends the snapshot to a follower reads it from
   * the store (file_node_store.ts: openSnapshotData). Without it (the simulator's store) images
   * are built in memory and the core keeps them.
   */
  beginSnapshot?(
    meta: SnapshotMeta,
    done: (error: Error | undefined, writer?: SnapshotImageWriter) => void,
  ): void;
  /**
   * Optional, with beginSnapshot: the image of a leader's snapshot that the transport staged in a
   * file (incoming_snapshots.ts) and delivered as a snap message with empty data.
   */
  stagedSnapshot?(meta: SnapshotMeta): { path: string; size: number } | undefined;
  /** Durably stores a staged leader snapshot (as saveSnapshot does for one held in memory). */
  saveStagedSnapshot?(meta: SnapshotMeta, done: Done): void;
  /** Durably records that this incarnation was added as a learner (it may vote once promoted). */
  clearAwaitingLearner(done: Done): void;
  close(done: Done): void;
  /**
   * Runs `fn` later, letting pending I/O and timers run first: how the driver spreads the
   * encoding of a large snapshot over many short slices. Absent (the simulator): the slices run
   * back to back, synchronously, which keeps a seed's run deterministic.
   */
  yieldThen?(fn: () => void): void;
}

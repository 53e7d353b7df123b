/** What an operator must do when a member's storage cannot be trusted any more. */
export const RESTORE_ADVICE = "restore this member from a peer: remove its data directory and add it back " +
  "as a new learner with a NEW node id (node ids are never reused)";

/**
 * The data directory holds damage that is not a torn tail: refusing to start is the only way not
 * to lose records that may have been acknowledged.
 */
export class StorageCorruptionError extends Error {
  override name = "StorageCorruptionError";
  constructor(readonly file: string, readonly offset: number, problem: string) {
    super(`storage corrupted: ${file} at byte ${offset}: ${problem}; ${RESTORE_ADVICE}`);
  }
}

/** Another process (or another RaftStorage in this one) already holds the data directory. */
export class StorageLockedError extends Error {
  override name = "StorageLockedError";
  constructor(readonly dir: string) {
    super(
      `data directory ${dir} is already in use by another raft-kv process (its LOCK file is held); ` +
        `stop that process, or give this node a different data directory`,
    );
  }
}

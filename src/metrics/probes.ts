/**
 * Timing probes that the node, the driver and the WAL call at the moments only they see (an fdatasync, a
 * proposal applied, a snapshot saved, a role change). No-ops until a process installs real ones: the
 * server installs the Prometheus metrics (src/server/metrics.ts). One node per server process, so the
 * probes are process-wide; the simulator and in-process tests leave them as no-ops.
 */
import type { Stage } from "../kv/write_stages.ts";

export interface Probes {
  /** One WAL write + fdatasync finished. */
  fsync(seconds: number): void;
  /** A proposal made on this node was applied (committed and applied here), this long after it was proposed. */
  proposalCommitted(seconds: number): void;
  /** A snapshot was taken locally and is durable: its encoded size and how long encoding and saving took. */
  snapshotSaved(bytes: number, seconds: number): void;
  /** A snapshot from the leader was installed. */
  snapshotInstalled(bytes: number): void;
  /** Leader or role changed (Raft soft state). */
  softState(role: string, leader: number, term: number): void;
  /** One stage of a request's path took this long (src/kv/write_stages.ts names the stages). */
  stage(name: Stage, seconds: number): void;
}

const NONE: Probes = {
  fsync() {},
  proposalCommitted() {},
  snapshotSaved() {},
  snapshotInstalled() {},
  softState() {},
  stage() {},
};

let installed: Probes = NONE;

export function installProbes(probes: Probes): void {
  installed = probes;
}

export function uninstallProbes(): void {
  installed = NONE;
}

/** Call sites use this object; it forwards to whatever is installed at the time of the call. */
export const probes: Probes = {
  fsync: (s) => installed.fsync(s),
  proposalCommitted: (s) => installed.proposalCommitted(s),
  snapshotSaved: (b, s) => installed.snapshotSaved(b, s),
  snapshotInstalled: (b) => installed.snapshotInstalled(b),
  softState: (r, l, t) => installed.softState(r, l, t),
  stage: (n, s) => installed.stage(n, s),
};

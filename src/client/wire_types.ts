/** The JSON shapes of the raft-kv HTTP API, as the server sends them. */

/** The Raft configuration, as `/status` and every admin call report it. */
export interface ConfState {
  voters: number[];
  votersOutgoing: number[];
  learners: number[];
  learnersNext: number[];
  joint: boolean;
  /** Log index of the entry that produced this configuration. */
  index: number;
}

/** Where a member listens: `peer` is host:port for Raft traffic, `client` the HTTP base URL. */
export interface MemberAddress {
  peer: string;
  client: string;
}

/** The leader's view of one peer's replication. */
export interface PeerProgress {
  match: number;
  next: number;
  state: string;
  learner: boolean;
}

/** `GET /status`: one node's view of the cluster. */
export interface ClusterStatus {
  id: number;
  clusterId: string;
  role: string;
  term: number;
  /** Id of the leader this node knows, 0 if none. */
  leader: number;
  commit: number;
  applied: number;
  lastIndex: number;
  snapshotIndex: number;
  safetyMode: string;
  conf: ConfState;
  members: Record<string, MemberAddress>;
  progress?: Record<string, PeerProgress>;
}

/** `GET /readyz`. */
export interface Readiness {
  ready: boolean;
  reason?: string;
}

/** What every admin call answers. */
export interface AdminResult {
  /** The configuration index the call produced, or the current one when nothing changed. */
  index: number;
  changed: boolean;
  conf: ConfState;
}

/** `{"error": {...}}`, the body of every error answer. */
export interface ErrorBody {
  error: { code: string; message: string; current?: string | null };
}

/** A fault the transport injects on a node started with fault injection enabled. */
export type FaultAction =
  | { action: "partition"; peers: number[] }
  | { action: "drop"; peer: number; probability: number }
  | { action: "delay"; peer: number; ms: number; jitterMs?: number }
  | { action: "heal" };

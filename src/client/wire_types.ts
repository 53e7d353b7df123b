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

/** `GET /status` of a node that has its identity: its view of the cluster. */
export interface ClusterStatus {
  initialized?: true;
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
  /** Per-peer replication, on the leader only. */
  progress?: Record<string, PeerProgress>;
  /** Changes each time a node id is (re)born with empty storage. */
  incarnation?: string;
}

/** `GET /status` of a fresh node still waiting for `POST /admin/identity`. */
export interface UninitializedStatus {
  initialized: false;
  clusterId: string;
  safetyMode: string;
  /** Where it listens, as it advertises itself. */
  peer?: string;
  client?: string;
}

/** What `GET /status` answers: `initialized === false` tells the two kinds apart. */
export type NodeStatus = ClusterStatus | UninitializedStatus;

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
  /** Cut the node off from every peer. */
  | { action: "isolate" }
  /** The node's admin API answers 503 to every call but /admin/faults, until heal. */
  | { action: "refuse-admin" }
  | { action: "drop"; peer: number; probability: number }
  | { action: "delay"; peer: number; ms: number; jitterMs?: number }
  | { action: "heal" };

/** The faults a node injects right now (`GET /admin/faults`). */
export interface FaultState {
  enabled: boolean;
  isolated: boolean;
  adminRefused?: boolean;
  partitioned: number[];
  drop: { peer: number; probability: number }[];
  delay: { peer: number; ms: number; jitterMs: number }[];
}

/** `POST /admin/identity`. */
export interface IdentityResult {
  id: number;
  clusterId: string;
  changed: boolean;
  incarnation?: string;
}

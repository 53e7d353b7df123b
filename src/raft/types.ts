/**
 * The data the Raft core exchanges with its shells: log entries, persistent state, snapshots,
 * messages and the Ready batch. Plain objects only, so that storage and transport can encode
 * them with msgpack without knowing anything else about the core.
 */

/** Node identities are positive integers and are never reused for a different node. */
export type NodeId = number;

/** A membership change as one atomic step (modelled on etcd's ConfChangeV2). */
export interface ConfChangeOp {
  op: "addVoter" | "addLearner" | "remove";
  node: NodeId;
}

/**
 * `ops` applied together. With `joint: true` the change enters the joint configuration
 * C_old,new and stays there until an explicit leave (a change with no ops). Without it, the
 * change is "simple": at most one voter may change (unless an unsafe mode says otherwise).
 */
export interface ConfChange {
  ops: ConfChangeOp[];
  joint: boolean;
  /** Opaque to Raft: the application's data about the change (raft-kv: the members' addresses). */
  context?: string;
}

/** The membership a snapshot or the applied log implies. Sorted id lists. */
export interface ConfState {
  /** Voters of the incoming configuration (C_new while joint, the only one otherwise). */
  voters: NodeId[];
  /** Voters of the outgoing configuration C_old; empty when not joint. */
  votersOutgoing: NodeId[];
  learners: NodeId[];
  /** Outgoing voters that become learners when the joint configuration is left. */
  learnersNext: NodeId[];
}

export type EntryType = "normal" | "conf";

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** Opaque command for normal entries; empty for the leader's no-op of a new term. */
  data?: Uint8Array;
  /** Present on conf entries. */
  change?: ConfChange;
}

/** State that must be durable before any message that depends on it leaves the node. */
export interface HardState {
  term: number;
  vote: NodeId; // 0 = none
  commit: number;
}

export interface SnapshotMeta {
  index: number;
  term: number;
  conf: ConfState;
}

export interface Snapshot {
  meta: SnapshotMeta;
  /** The application's state machine image at meta.index. */
  data: Uint8Array;
}

export type MessageType =
  | "app" // leader -> follower: entries after (index, logTerm), leader commit
  | "appResp" // follower -> leader: accepted up to index, or reject with a hint
  | "heartbeat" // leader -> follower: commit (bounded by the follower's match), read context
  | "heartbeatResp"
  | "preVote" // would you vote for me at term+1? No state changes on either side.
  | "preVoteResp"
  | "vote"
  | "voteResp"
  | "snap" // leader -> follower: install this snapshot
  | "timeoutNow" // leader -> transfer target: campaign now, skipping pre-vote and lease checks
  | "readIndex" // follower -> leader: a linearizable read is waiting for a read index
  | "readIndexResp" // leader -> follower: the read index for that context
  | "transferLeader"; // follower -> leader: please hand leadership to `index` (the target id)

export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  /** app: term of the entry at `index`; votes: candidate's last log term; appResp reject: hint term. */
  logTerm?: number;
  /** app: previous index; appResp: last matching index or rejected index; votes: last log index. */
  index?: number;
  entries?: Entry[];
  commit?: number;
  reject?: boolean;
  /** appResp reject: the follower's best guess of where the logs diverge. */
  rejectHint?: number;
  snapshot?: Snapshot;
  /** readIndex / readIndexResp / heartbeat(Resp): the read request(s) this round answers. */
  context?: string;
  /** vote / preVote: this campaign comes from a leader transfer (TimeoutNow). */
  transfer?: boolean;
}

/** A linearizable read may be served once the local applied index reaches `index`. */
export interface ReadState {
  index: number;
  context: string;
}

export type Role = "follower" | "preCandidate" | "candidate" | "leader";

export interface SoftState {
  lead: NodeId; // 0 = unknown
  role: Role;
}

/**
 * One batch of work for the shell. Order matters: persist `snapshot`, `entries` and `hardState`
 * durably, then send `messages`, then apply `committedEntries`, then call `advance()`.
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  /** Entries to append to stable storage; they replace any stored entries at the same indexes. */
  entries: Entry[];
  /** A snapshot received from the leader, to persist and to restore into the state machine. */
  snapshot?: Snapshot;
  messages: Message[];
  committedEntries: Entry[];
  readStates: ReadState[];
  /** Read contexts this node gave up on (it lost leadership): fail or retry those requests. */
  droppedReads: string[];
}

/** The explicit switches between the safe protocol and the two documented unsafe baselines. */
export type SafetyMode = "safe" | "unsafe-early-vote" | "unsafe-no-joint";

export const SAFETY_MODES: readonly SafetyMode[] = ["safe", "unsafe-early-vote", "unsafe-no-joint"];

/**
 * The vocabulary of reconfiguration, shared by the planner (pure) and its executors (the local
 * supervisor, the Kubernetes operator): what is persisted between steps, what is observed of
 * the live cluster, and the actions an executor knows how to carry out.
 */
import type { NodeId, SafetyMode } from "../raft/mod.ts";

/**
 * A member lives in a slot (the StatefulSet ordinal kv-<slot>, or a local process slot) and
 * has a node id. Slots are reused after a scale-down; node ids never are.
 */
export interface Member {
  slot: number;
  id: NodeId;
}

export type Phase =
  | "Idle"
  | "Bootstrap"
  | "AddLearners"
  | "CatchUp"
  | "EnterJoint"
  | "TransferLeader"
  | "CommitNew"
  | "LeaveJoint"
  | "RemoveMembers"
  | "AbortLearners"
  // The unsafe baselines' own steps (see planUnsafe):
  | "AddVotersDirectly"
  | "RemoveVotersDirectly"
  | "AdoptConfigOneByOne";

/** A member whose storage was lost, being replaced (see replacement.ts). */
export interface Replacement {
  slot: number;
  /** The id that came back empty; it is removed and never used again. */
  lostId: NodeId;
}

/** Persisted after every step (CR status.reconfig, or the local state file), so a restart resumes. */
export interface ReconfigStatus {
  phase: Phase;
  /** Settled members: the voters when no reconfiguration is in flight. */
  members: Member[];
  /** Members being added (learners first) or removed by the reconfiguration in flight. */
  adding: Member[];
  removing: Member[];
  /** The voter set the reconfiguration in flight ends with. */
  targetVoters: NodeId[];
  /** Highest Raft configuration index produced or observed: it only grows. */
  confIndex: number;
  /** Next node id to hand out; ids are never reused. */
  nextNodeId: number;
  /** Consecutive checks in which every learner was caught up. */
  catchUpStreak: number;
  /** Human-readable: what the last decision was and why. */
  message: string;
  /** Members that came back with empty storage and are being replaced under new ids (optional:
   * statuses persisted before it existed, or by a schema that prunes it, simply lack it). */
  replacing?: Replacement[];
}

export function initialStatus(): ReconfigStatus {
  return {
    phase: "Idle",
    members: [],
    adding: [],
    removing: [],
    targetVoters: [],
    confIndex: 0,
    nextNodeId: 1,
    catchUpStreak: 0,
    message: "no cluster yet",
  };
}

/** What one node says about itself (its /status), as seen by the executor. */
export interface NodeObservation {
  reachable: boolean;
  /** Has an identity and runs Raft. */
  initialized: boolean;
  id?: NodeId;
  applied?: number;
  /** The configuration index and jointness this node has applied. */
  confIndex?: number;
  joint?: boolean;
  /** The voters this node's own configuration lists. */
  voters?: NodeId[];
  /** Started with empty storage and waits to be re-added (see replacement.ts). */
  quarantined?: boolean;
  /** The node's storage incarnation (a new one each time it starts with empty storage). */
  incarnation?: string;
}

/** The leader's view (its /status), if a leader answered. */
export interface LeaderObservation {
  id: NodeId;
  voters: NodeId[];
  votersOutgoing: NodeId[];
  learners: NodeId[];
  confIndex: number;
  lastIndex: number;
  /** Per node id: the highest index the node has durably acknowledged. */
  match: Record<string, number>;
  /** Per node id: heard from within the last election timeout. */
  active: Record<string, boolean>;
  /**
   * Per node id: the storage incarnation the leader's member directory holds for it, i.e. the
   * incarnation the cluster added. Absent from servers that do not report it.
   */
  memberIncarnations?: Record<string, string | undefined>;
}

export interface Observation {
  leader?: LeaderObservation;
  /** Per slot. */
  nodes: Record<string, NodeObservation>;
}

export type Action =
  | { kind: "none" }
  | { kind: "wait"; afterMs: number }
  /** Start these members (process / pod) with their ids; `bootstrap` only for the very first one. */
  | { kind: "startMembers"; members: Member[]; bootstrap: boolean }
  | { kind: "addLearners"; members: Member[] }
  | { kind: "enterJoint"; voters: NodeId[] }
  | { kind: "transferLeader"; to: NodeId }
  | { kind: "leaveJoint" }
  | { kind: "removeLearners"; ids: NodeId[] }
  /** Stop these members and delete their storage (claims). */
  | { kind: "stopMembers"; members: Member[] }
  /** unsafe-early-vote: one simple change straight to this voter set. */
  | { kind: "changeVotersDirectly"; voters: NodeId[] }
  /** unsafe-no-joint: tell one node to adopt this voter set, out of the log. */
  | { kind: "adoptConfig"; member: Member; voters: NodeId[] };

export interface PlannerInput {
  desiredReplicas: number;
  mode: SafetyMode;
  status: ReconfigStatus;
  observed: Observation;
}

export interface PlannerDecision {
  status: ReconfigStatus;
  action: Action;
  /** The phases this decision passed through, oldest first (for logs and Events). */
  trail: Phase[];
  /** The message of every move along the trail, then the final one (for logs and Events). */
  messages?: string[];
}

export interface PlannerTuning {
  /** A learner within this many entries of the leader's last index counts as caught up. */
  maxLearnerLag: number;
  /** Consecutive caught-up checks required before promotion. */
  catchUpChecks: number;
  /** Delay between checks while waiting. */
  pollMs: number;
}

export const DEFAULT_TUNING: PlannerTuning = { maxLearnerLag: 64, catchUpChecks: 3, pollMs: 300 };

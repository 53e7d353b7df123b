/**
 * What the live view's server sends its page: shared by src/ui/*.ts and the front-end in
 * src/ui/web/ (type-only imports there, so nothing of Deno reaches the browser bundle).
 */
import type { LogTailEntry, ReadRoundView } from "../server/node_introspection.ts";
import type { TracedMessage } from "../server/message_trace.ts";
import type { FaultDescription } from "../transport/faults.ts";
import type { PlannerHistory } from "./planner_history.ts";

export type { LogTailEntry, ReadRoundView, TracedMessage };

/** A node's GET /status, as much of it as the view shows. */
export interface NodeStatusView {
  initialized: boolean;
  id?: number;
  role?: string;
  term?: number;
  leader?: number;
  commit?: number;
  applied?: number;
  lastIndex?: number;
  snapshotIndex?: number;
  quarantined?: boolean;
  /** The NOSPACE alarm (writes refused while the disk is nearly full). */
  diskAlarm?: { raised: boolean; since?: string };
  leadTransferee?: number;
  safetyMode?: string;
  conf?: {
    voters: number[];
    votersOutgoing: number[];
    learners: number[];
    learnersNext: number[];
    joint: boolean;
    index: number;
  };
  progress?: Record<
    string,
    { match: number; next: number; state: string; learner: boolean; recentActive: boolean; inflight: number }
  >;
}

/** The `state` event of a node's GET /trace stream. */
export interface TraceStateView {
  id: number;
  term: number;
  vote: number;
  logTail: LogTailEntry[];
  readRound?: ReadRoundView;
  readRounds: number;
  faults?: FaultDescription;
}

export interface MemberView {
  id: number;
  /** Local slot, or the pod's ordinal. */
  slot?: number;
  /** Pod name in Kubernetes mode. */
  name?: string;
  clientUrl: string;
  /** The supervisor's (or kubelet's) word on the process: running, paused, restarting, ... */
  process?: string;
  pid?: number;
  restarts?: number;
  /** Undefined when the node did not answer /status in time (down, paused, partitioned from us). */
  status?: NodeStatusView;
  trace?: TraceStateView;
  /** When the last trace state arrived (ms since epoch). */
  traceAt?: number;
}

export interface PlannerView {
  phase: string;
  message: string;
  adding: Array<{ slot: number; id: number }>;
  removing: Array<{ slot: number; id: number }>;
  targetVoters: number[];
  catchUpStreak: number;
  confIndex: number;
  desiredReplicas: number;
  settled: boolean;
  supervisorUp: boolean;
}

export interface ClusterSnapshot {
  at: number;
  source: "local" | "kube";
  clusterId?: string;
  safetyMode?: string;
  faultInjection: boolean;
  members: MemberView[];
  /** The leader of the highest term that answered, if any. */
  leader?: number;
  /** Leaders by term: more than one means a split brain in an unsafe mode (or a stale one). */
  leaders: Array<{ id: number; term: number }>;
  planner?: PlannerView;
  history?: PlannerHistory;
  /** Why there is no cluster to show, when there is none. */
  error?: string;
}

/** One batch of sampled messages from one node's trace. */
export interface MessageBatch {
  node: number;
  messages: TracedMessage[];
  skipped: number;
}

export interface ActionResult {
  ok: boolean;
  message: string;
}

/** GET /api/kube (`deno task ui --kube NAME`). */
export interface KubePod {
  name: string;
  phase?: string;
  ready: boolean;
  podIP?: string;
  restarts: number;
  startedAt?: string;
  deleting: boolean;
}

export interface KubeEvent {
  type?: string;
  reason?: string;
  message?: string;
  object: string;
  count?: number;
  last?: string;
}

export interface KubeSnapshot {
  name: string;
  namespace: string;
  found: boolean;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  pods: KubePod[];
  events: KubeEvent[];
  error?: string;
}

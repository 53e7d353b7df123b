/**
 * The RaftCluster custom resource (storage.sys/v1): its spec with defaults and checks, and the status
 * the operator writes. The CRD schema (crd.ts) is built from the same names, and a test keeps the two
 * in step.
 */
import type { Phase, ReconfigStatus } from "../../reconfig/types.ts";
import type { Condition, OperatorStatus, ResourceRef } from "../framework/mod.ts";

export const RAFT_CLUSTER: ResourceRef = {
  group: "storage.sys",
  version: "v1",
  plural: "raftclusters",
  kind: "RaftCluster",
};
export const API_VERSION = `${RAFT_CLUSTER.group}/${RAFT_CLUSTER.version}`;

export {
  MAX_REPLICAS,
  MIN_REPLICAS,
  type RaftClusterSpec,
  type ResolvedSpec,
  resolveSpec,
  SAFETY_MODES,
  SPEC_DEFAULTS,
  SpecError,
} from "./spec.ts";

/** How the leader's configuration lists a member. */
export type MemberRole =
  | "voter"
  /** In the outgoing voter set of a joint configuration only: on its way out. */
  | "leaving"
  | "learner"
  /** Not in the configuration (yet, or any more). */
  | "none"
  /** No leader answered, so nobody can say. */
  | "unknown";

export interface MemberView {
  pod: string;
  slot: number;
  id: number;
  role: MemberRole;
  /** Its pod answered /status as this node in the last observation. */
  reachable: boolean;
}

/** What `kubectl get raft` shows as PHASE; the workflow step is `status.step`. */
export type ClusterPhase = "Pending" | "Running" | "Reconfiguring" | "Degraded" | "Failed";
export const CLUSTER_PHASES: readonly ClusterPhase[] = [
  "Pending",
  "Running",
  "Reconfiguring",
  "Degraded",
  "Failed",
];

/** One workflow step of a reconfiguration, with how long it took (0 for steps passed in one go). */
export interface StepRecord {
  step: Phase;
  startedAt: string;
  durationSeconds?: number;
}

/** The membership change in flight. */
export interface ReconfigProgress {
  /** Voters before and after. */
  from: number;
  to: number;
  step: Phase;
  startedAt: string;
  /** Actions issued in the current step (a step waiting on the cluster issues none). */
  attempts: number;
  lastError?: string;
  steps: StepRecord[];
}

/** A finished membership change. */
export interface ReconfigRecord {
  from: number;
  to: number;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  result: "Succeeded" | "Aborted";
  steps: StepRecord[];
}

/** The newest records of status.history are kept; older ones are dropped. */
export const HISTORY_LENGTH = 10;

export interface RaftClusterStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  phase?: ClusterPhase;
  /** The workflow step: the planner's (Idle, AddLearners, CatchUp, EnterJoint, ...) or RollingUpgrade. */
  step?: Phase | "RollingUpgrade" | "CertificateRotation";
  /** Settled members (the scale subresource's status.replicas). */
  replicas?: number;
  /** Pods whose readiness probe passes. */
  readyReplicas?: number;
  /** Selects the cluster's pods (the scale subresource's labelSelector, for an HPA). */
  labelSelector?: string;
  /** The leader's pod, when one answered. */
  leader?: string;
  term?: number;
  /** Node ids in the leader's configuration (incoming voters, learners). */
  voters?: number[];
  learners?: number[];
  /** The Raft configuration index in force; only grows. */
  configIndex?: number;
  members?: MemberView[];
  /** The planner's state, persisted before every action. */
  planner?: ReconfigStatus;
  /** The membership change in flight, if any. */
  reconfig?: ReconfigProgress;
  /** When reconfig.rateLimit lets the next membership change start, while it holds one back. */
  nextReconfigAt?: string;
  /** When the cluster first reached its size: the rate limit applies from then on. */
  formedAt?: string;
  /** The last few membership changes, oldest first. */
  history?: ReconfigRecord[];
  operator?: OperatorStatus;
  /** True while spec.faultInjection runs the servers with --fault-injection (experiments only). */
  faultInjection?: boolean;
  /** The CA rotation's state (spec.tls); never a key or certificate. */
  tls?: TlsStatus;
}

export type TlsPhase = "Stable" | "TrustNew" | "Reissue" | "DropOld";

export interface TlsStatus {
  /** The last spec.tls.rotate carried out. */
  rotation: number;
  phase: TlsPhase;
  /** Generation of the member certificates: raised once every member got one of the new CA. */
  certificates: number;
  /** Nodes given a certificate of the new CA in this rotation (phase Reissue). */
  reissued?: number[];
  startedAt?: string;
  message?: string;
}

/** The planner state of a status, also from an operator version that kept it in status.reconfig. */
export function plannerStateOf(status: RaftClusterStatus): ReconfigStatus | undefined {
  if (status.planner) return status.planner;
  const legacy = status.reconfig as unknown as Partial<ReconfigStatus> | undefined;
  return legacy && Array.isArray(legacy.members) && typeof legacy.phase === "string"
    ? legacy as ReconfigStatus
    : undefined;
}

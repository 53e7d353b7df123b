/**
 * The RaftCluster custom resource (storage.sys/v1): its spec with defaults and checks, and the status
 * the operator writes. The CRD schema (crd.ts) is built from the same names, and a test keeps the two
 * in step.
 */
import { SAFETY_MODES, type SafetyMode } from "../../raft/mod.ts";
import type { Phase, ReconfigStatus } from "../../reconfig/types.ts";
import type { Condition, OperatorStatus, ResourceRef } from "../framework/mod.ts";

export const RAFT_CLUSTER: ResourceRef = {
  group: "storage.sys",
  version: "v1",
  plural: "raftclusters",
  kind: "RaftCluster",
};
export const API_VERSION = `${RAFT_CLUSTER.group}/${RAFT_CLUSTER.version}`;

export { SAFETY_MODES };
export const MIN_REPLICAS = 1;
export const MAX_REPLICAS = 9;

/** What a user writes. */
export interface RaftClusterSpec {
  replicas: number;
  safetyMode?: SafetyMode;
  image?: string;
  storage?: { size?: string };
  tickMs?: number;
}

/** The spec with every default filled in. */
export interface ResolvedSpec {
  replicas: number;
  safetyMode: SafetyMode;
  image: string;
  storageSize: string;
  /** Absent: the server's own default. */
  tickMs?: number;
}

export const SPEC_DEFAULTS = { safetyMode: "safe", image: "raft-kv:latest", storageSize: "1Gi" } as const;

export class SpecError extends Error {
  override name = "SpecError";
}

/**
 * Fills in the defaults and refuses what the CRD schema should already have refused (an object written
 * before the schema existed, or a schema that was edited by hand), naming the field and the fix.
 */
export function resolveSpec(spec: Record<string, unknown> | undefined): ResolvedSpec {
  const s = (spec ?? {}) as Partial<Record<keyof RaftClusterSpec, unknown>>;
  const replicas = s.replicas;
  if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < MIN_REPLICAS) {
    throw new SpecError(`spec.replicas must be an integer from ${MIN_REPLICAS} to ${MAX_REPLICAS}`);
  }
  if (replicas > MAX_REPLICAS) {
    throw new SpecError(`spec.replicas must be at most ${MAX_REPLICAS}, got ${replicas}`);
  }
  const safetyMode = s.safetyMode ?? SPEC_DEFAULTS.safetyMode;
  if (!SAFETY_MODES.includes(safetyMode as SafetyMode)) {
    throw new SpecError(`spec.safetyMode must be one of ${SAFETY_MODES.join(", ")}, got "${safetyMode}"`);
  }
  const image = s.image ?? SPEC_DEFAULTS.image;
  if (typeof image !== "string" || image === "") throw new SpecError("spec.image must be a non-empty string");
  const storage = (s.storage ?? {}) as { size?: unknown };
  const storageSize = storage.size ?? SPEC_DEFAULTS.storageSize;
  if (typeof storageSize !== "string" || storageSize === "") {
    throw new SpecError('spec.storage.size must be a quantity such as "1Gi"');
  }
  const tickMs = s.tickMs;
  if (tickMs !== undefined && (typeof tickMs !== "number" || !Number.isInteger(tickMs) || tickMs < 1)) {
    throw new SpecError(`spec.tickMs must be a positive integer (milliseconds), got ${tickMs}`);
  }
  return {
    replicas,
    safetyMode: safetyMode as SafetyMode,
    image,
    storageSize,
    ...(tickMs === undefined ? {} : { tickMs: tickMs as number }),
  };
}

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

/** One step worth remembering: a phase change or an action taken. */
export interface HistoryEntry {
  time: string;
  /** The phases this step passed through, oldest first, ending with the one persisted. */
  phases: Phase[];
  action: string;
  confIndex: number;
  message: string;
}

/** The newest entries of status.history are kept; older ones are dropped. */
export const HISTORY_LENGTH = 40;

export interface RaftClusterStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  /** The leader's pod, when one answered. */
  leader?: string;
  /** How many voters the leader's configuration has (incoming set). */
  voters?: number;
  members?: MemberView[];
  /** The planner's state, persisted before every action. */
  reconfig?: ReconfigStatus;
  history?: HistoryEntry[];
  operator?: OperatorStatus;
}

/**
 * What a planning step writes into the RaftCluster's status (pure): the planner's state, the phase a
 * user reads (Pending, Running, Reconfiguring, Degraded, Failed) and the workflow step, the leader,
 * term, voters, learners and configuration index as the leader reports them, ready pods, the change
 * in flight and the last few finished ones, and the Ready / Progressing / Degraded / SpecValid
 * conditions, each with the generation it describes.
 */
import { type Condition, type ConditionUpdate, setCondition } from "../framework/mod.ts";
import { canonicalJson } from "../framework/mod.ts";
import type { Observation, PlannerDecision } from "../../reconfig/types.ts";
import type { ClusterView } from "./cluster_view.ts";
import { type ClusterRef, labelSelector, podName } from "./names.ts";
import type { Pacing } from "./pacing.ts";
import type { Tracked } from "./reconfig_history.ts";
import type { ClusterPhase, MemberRole, MemberView, RaftClusterStatus } from "./types.ts";

export interface SummaryInput {
  ref: ClusterRef;
  generation?: number;
  /** spec.replicas as written. */
  specReplicas: number;
  /** The status the step was planned from. */
  previous: RaftClusterStatus;
  decision: PlannerDecision;
  pacing: Pacing;
  tracked: Tracked;
  observed: Observation;
  view: ClusterView;
  now: Date;
}

export interface Summary {
  status: RaftClusterStatus;
  /** True when idle at spec.replicas: nothing left to do. */
  settled: boolean;
}

export function summarizeStatus(input: SummaryInput): Summary {
  const { ref, decision, observed, view, previous, pacing, tracked, now } = input;
  const plan = decision.status;
  const leader = observed.leader;
  const settled = decision.action.kind === "none" && plan.phase === "Idle" &&
    plan.members.length === input.specReplicas;
  const roleOf = (id: number): MemberRole => {
    if (!leader) return "unknown";
    if (leader.voters.includes(id)) return "voter";
    if (leader.votersOutgoing.includes(id)) return "leaving";
    if (leader.learners.includes(id)) return "learner";
    return "none";
  };
  const seen = new Set<number>();
  const members: MemberView[] = [...plan.members, ...plan.adding, ...plan.removing]
    .filter((m) => !seen.has(m.id) && seen.add(m.id))
    .sort((a, b) => a.slot - b.slot || a.id - b.id)
    .map((m) => ({
      pod: podName(ref, m.slot),
      slot: m.slot,
      id: m.id,
      role: roleOf(m.id),
      reachable: view.slots.get(m.slot)?.report?.id === m.id,
    }));
  const leaderPod = view.leaderSlot === undefined ? undefined : podName(ref, view.leaderSlot);
  const leaderReport = view.leaderSlot === undefined ? undefined : view.slots.get(view.leaderSlot)?.report;
  const unreachable = members.filter((m) => plan.members.some((s) => s.id === m.id) && !m.reachable);
  const formedAt = previous.formedAt ?? (settled && leader ? now.toISOString() : undefined);
  const readyReplicas = [...view.slots.values()].filter((s) => s.ready).length;

  const phase: ClusterPhase = plan.members.length > 0 && !leader && formedAt
    ? "Degraded"
    : plan.phase !== "Idle" || tracked.inFlight
    ? (formedAt ? "Reconfiguring" : "Pending")
    : !formedAt
    ? "Pending"
    : unreachable.length
    ? "Degraded"
    : "Running";

  const progressing: ConditionUpdate = settled
    ? { type: "Progressing", status: "False", reason: "Settled", message: plan.message }
    : pacing.heldUntil
    ? { type: "Progressing", status: "True", reason: "RateLimited", message: pacing.message ?? plan.message }
    : {
      type: "Progressing",
      status: "True",
      reason: plan.phase,
      message: pacing.message ? `${plan.message} (${pacing.message})` : plan.message,
    };
  const updates: ConditionUpdate[] = [
    { type: "SpecValid", status: "True", reason: "Valid", message: "the spec is valid" },
    settled && leader
      ? {
        type: "Ready",
        status: "True",
        reason: "Settled",
        message: `${leader.voters.length} voters, leader ${leaderPod}`,
      }
      : {
        type: "Ready",
        status: "False",
        reason: plan.members.length === 0 ? "Creating" : !leader ? "NoLeader" : phase,
        message: plan.message,
      },
    progressing,
    plan.members.length > 0 && !leader
      ? { type: "Degraded", status: "True", reason: "NoLeader", message: "no node answered as leader" }
      : unreachable.length
      ? {
        type: "Degraded",
        status: "True",
        reason: "MembersUnreachable",
        message: `not answering as members: ${unreachable.map((m) => m.pod).join(", ")}`,
      }
      : { type: "Degraded", status: "False", reason: "Healthy", message: "every member answers" },
  ];
  let conditions: Condition[] = previous.conditions ?? [];
  for (const update of updates) conditions = setCondition(conditions, update, input.generation, now);

  const status: RaftClusterStatus = {
    ...(input.generation === undefined ? {} : { observedGeneration: input.generation }),
    conditions,
    phase,
    step: plan.phase,
    replicas: plan.members.length,
    readyReplicas,
    labelSelector: labelSelector(ref),
    members,
    planner: plan,
    configIndex: Math.max(previous.configIndex ?? 0, plan.confIndex),
    history: tracked.history,
    ...(formedAt ? { formedAt } : {}),
    ...(tracked.inFlight ? { reconfig: tracked.inFlight } : {}),
    ...(pacing.heldUntil ? { nextReconfigAt: pacing.heldUntil.toISOString() } : {}),
    ...(leaderPod === undefined ? {} : { leader: leaderPod }),
    ...(leaderReport?.term === undefined ? {} : { term: leaderReport.term }),
    ...(leader ? { voters: [...leader.voters].sort((a, b) => a - b) } : {}),
    ...(leader ? { learners: [...leader.learners].sort((a, b) => a - b) } : {}),
  };
  return { settled, status };
}

/** The status of a RaftCluster whose spec cannot be acted on: phase Failed, SpecValid False. */
export function invalidSpecStatus(
  previous: RaftClusterStatus,
  message: string,
  generation: number | undefined,
  now: Date,
): RaftClusterStatus {
  let conditions = previous.conditions ?? [];
  for (
    const update of [
      { type: "SpecValid", status: "False", reason: "InvalidSpec", message },
      { type: "Ready", status: "False", reason: "InvalidSpec", message },
    ] as ConditionUpdate[]
  ) conditions = setCondition(conditions, update, generation, now);
  return {
    ...previous,
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    conditions,
    phase: "Failed",
  };
}

const STATUS_KEYS = [
  "observedGeneration",
  "conditions",
  "phase",
  "step",
  "replicas",
  "readyReplicas",
  "labelSelector",
  "leader",
  "term",
  "voters",
  "learners",
  "configIndex",
  "members",
  "planner",
  "reconfig",
  "nextReconfigAt",
  "formedAt",
  "history",
  "faultInjection",
  "tls",
] as const;

/**
 * The merge patch that turns `previous` into `next`, or undefined when nothing changed (a settled
 * cluster costs no write). A merge patch merges objects key by key, so keys that disappeared (no
 * leader answers; a lastError cleared) are deleted with null at whatever depth they were.
 */
export function statusPatch(
  previous: RaftClusterStatus,
  next: RaftClusterStatus,
): Record<string, unknown> | undefined {
  const patch: Record<string, unknown> = {};
  for (const key of STATUS_KEYS) {
    const change = mergeDiff(previous[key], next[key]);
    if (change !== UNCHANGED) patch[key] = change;
  }
  return Object.keys(patch).length ? patch : undefined;
}

const UNCHANGED = Symbol("unchanged");

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function mergeDiff(before: unknown, after: unknown): unknown {
  // Key order differs between what the API server returns and what was built here.
  if (canonicalJson(before ?? null) === canonicalJson(after ?? null)) return UNCHANGED;
  if (after === undefined || after === null) return null;
  if (!isPlainObject(before) || !isPlainObject(after)) return after;
  const out: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const change = mergeDiff(before[key], after[key]);
    if (change !== UNCHANGED) out[key] = change;
  }
  return out;
}

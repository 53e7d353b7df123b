/**
 * What a planning step writes into the RaftCluster's status (pure): the planner's state, the leader,
 * the voters and members as the leader sees them, the Ready/Progressing/Degraded conditions, and a
 * short history of the steps taken (phases in order, with the configuration index each produced).
 */
import { type Condition, type ConditionUpdate, setCondition } from "../framework/mod.ts";
import { canonicalJson } from "../framework/mod.ts";
import type { Observation, Phase, PlannerDecision } from "../../reconfig/types.ts";
import type { ClusterView } from "./cluster_view.ts";
import { type ClusterRef, podName } from "./names.ts";
import {
  HISTORY_LENGTH,
  type HistoryEntry,
  type MemberRole,
  type MemberView,
  type RaftClusterStatus,
} from "./types.ts";

export interface SummaryInput {
  ref: ClusterRef;
  generation?: number;
  desiredReplicas: number;
  /** The status the step was planned from. */
  previous: RaftClusterStatus;
  decision: PlannerDecision;
  observed: Observation;
  view: ClusterView;
  now: Date;
}

export interface Summary {
  status: RaftClusterStatus;
  /** The history entry this step added, if it was a step worth recording (and an Event). */
  recorded?: HistoryEntry;
  /** True when idle at the desired size: nothing left to do. */
  settled: boolean;
}

export function summarizeStatus(input: SummaryInput): Summary {
  const { ref, decision, observed, view, previous } = input;
  const plan = decision.status;
  const leader = observed.leader;
  const settled = decision.action.kind === "none" && plan.phase === "Idle" &&
    plan.members.length === input.desiredReplicas;

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
  const unreachable = members.filter((m) => plan.members.some((s) => s.id === m.id) && !m.reachable);

  const updates: ConditionUpdate[] = [
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
        reason: notReadyReason(plan.members.length, !!leader, plan.phase),
        message: plan.message,
      },
    settled
      ? { type: "Progressing", status: "False", reason: "Settled", message: plan.message }
      : { type: "Progressing", status: "True", reason: plan.phase, message: plan.message },
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
  for (const update of updates) conditions = setCondition(conditions, update, input.generation, input.now);

  const entry: HistoryEntry = {
    time: input.now.toISOString(),
    phases: withoutRepeats([...decision.trail, plan.phase]),
    action: decision.action.kind,
    confIndex: plan.confIndex,
    message: plan.message,
  };
  const history = previous.history ?? [];
  const recorded = isWorthRecording(entry, history.at(-1)) ? entry : undefined;

  return {
    settled,
    ...(recorded ? { recorded } : {}),
    status: {
      ...(input.generation === undefined ? {} : { observedGeneration: input.generation }),
      conditions,
      ...(leaderPod === undefined ? {} : { leader: leaderPod }),
      ...(leader ? { voters: leader.voters.length } : {}),
      members,
      reconfig: plan,
      history: recorded ? [...history, recorded].slice(-HISTORY_LENGTH) : history,
    },
  };
}

function notReadyReason(members: number, hasLeader: boolean, phase: Phase): string {
  if (members === 0) return "Creating";
  if (!hasLeader) return "NoLeader";
  return phase === "Idle" ? "Settling" : "Reconfiguring";
}

function withoutRepeats(phases: Phase[]): Phase[] {
  return phases.filter((p, i) => i === 0 || phases[i - 1] !== p);
}

/** A phase change or an action, unless it repeats the previous entry (a step retried while waiting). */
function isWorthRecording(entry: HistoryEntry, last: HistoryEntry | undefined): boolean {
  if (entry.phases.length === 1 && (entry.action === "wait" || entry.action === "none")) return false;
  return !last || last.action !== entry.action || last.message !== entry.message ||
    last.phases.at(-1) !== entry.phases.at(-1);
}

/**
 * The merge patch that turns `previous` into `next`, or undefined when nothing changed (a settled
 * cluster costs no write). Fields that disappeared (no leader answers) are deleted with null.
 */
export function statusPatch(
  previous: RaftClusterStatus,
  next: RaftClusterStatus,
): Record<string, unknown> | undefined {
  const patch: Record<string, unknown> = {};
  const keys = [
    "observedGeneration",
    "conditions",
    "leader",
    "voters",
    "members",
    "reconfig",
    "history",
  ] as const;
  for (const key of keys) {
    // Key order differs between what the API server returns and what was built here.
    const before = canonicalJson(previous[key] ?? null);
    const after = canonicalJson(next[key] ?? null);
    if (before !== after) patch[key] = next[key] ?? null;
  }
  return Object.keys(patch).length ? patch : undefined;
}

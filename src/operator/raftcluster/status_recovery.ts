/**
 * Rebuilds the planner's state when the RaftCluster's status is gone (wiped through the status
 * subresource, or the object restored from a backup without it) while the nodes still run (pure).
 * A cluster whose pods report initialized members is never bootstrapped again: its membership is read
 * back from the leader's configuration, joined to slots through what each pod says it is, and the next
 * node id is put above every id any source has seen (the StatefulSet's annotation keeps the highest
 * handed out, so ids of members removed before the loss are not reused either).
 */
import type { NodeId } from "../../raft/mod.ts";
import type { Member, Observation, ReconfigStatus } from "../../reconfig/types.ts";
import type { ClusterView } from "./cluster_view.ts";

export type Recovery = { status: ReconfigStatus } | { waiting: string };

/** True when some pod runs an initialized member of this cluster: its status must not start over. */
export function hasInitializedMember(view: ClusterView): boolean {
  return [...view.slots.values()].some((s) => s.report?.initialized === true);
}

export function rebuildPlannerState(view: ClusterView, observed: Observation, nextIdFloor: number): Recovery {
  const leader = observed.leader;
  if (!leader) {
    return { waiting: "the status was lost and no leader answers: waiting for one to rebuild it from" };
  }
  const slotOf = new Map<NodeId, number>();
  let highest = 0;
  for (const facts of view.slots.values()) {
    const r = facts.report;
    if (r?.initialized && r.id !== undefined) {
      slotOf.set(r.id, facts.slot);
      highest = Math.max(highest, r.id);
    }
  }
  const inConfig = [...new Set([...leader.voters, ...leader.votersOutgoing, ...leader.learners])];
  highest = Math.max(highest, ...inConfig);
  const unplaced = inConfig.filter((id) => !slotOf.has(id));
  if (unplaced.length) {
    return {
      waiting: `the status was lost; node(s) ${
        unplaced.join(", ")
      } of the configuration answer from no pod yet`,
    };
  }
  const member = (id: NodeId): Member => ({ slot: slotOf.get(id)!, id });
  const bySlot = (a: Member, b: Member) => a.slot - b.slot;
  const base = {
    confIndex: leader.confIndex,
    nextNodeId: Math.max(nextIdFloor, highest + 1),
    catchUpStreak: 0,
  };
  if (leader.votersOutgoing.length > 0) {
    const incoming = leader.voters;
    const outgoing = leader.votersOutgoing;
    return {
      status: {
        ...base,
        phase: "CommitNew",
        members: outgoing.map(member).sort(bySlot),
        adding: incoming.filter((id) => !outgoing.includes(id)).map(member).sort(bySlot),
        removing: outgoing.filter((id) => !incoming.includes(id)).map(member).sort(bySlot),
        targetVoters: [...incoming],
        message:
          `status rebuilt from the nodes: joint configuration ${leader.confIndex} toward [${incoming}]`,
      },
    };
  }
  if (leader.learners.length > 0) {
    return {
      status: {
        ...base,
        phase: "CatchUp",
        members: leader.voters.map(member).sort(bySlot),
        adding: leader.learners.map(member).sort(bySlot),
        removing: [],
        targetVoters: [...leader.voters, ...leader.learners],
        message: `status rebuilt from the nodes: voters [${leader.voters}], learners [${leader.learners}]`,
      },
    };
  }
  // Initialized nodes outside the configuration (removed members whose pods had not gone yet):
  // finish removing them, so their claims are not picked up by a later member of the same slot.
  const leftovers: Member[] = [];
  for (const [id, slot] of slotOf) if (!inConfig.includes(id)) leftovers.push({ slot, id });
  return {
    status: {
      ...base,
      phase: leftovers.length ? "RemoveMembers" : "Idle",
      members: leader.voters.map(member).sort(bySlot),
      adding: [],
      removing: leftovers.sort(bySlot),
      targetVoters: leftovers.length ? [...leader.voters] : [],
      message:
        `status rebuilt from the nodes: voters [${leader.voters}] at configuration ${leader.confIndex}`,
    },
  };
}

/**
 * Rolling a changed pod template (a new image, another election timeout...) through the members
 * (pure). The StatefulSet uses the OnDelete strategy, so nothing restarts until the operator deletes a
 * pod; it deletes one member's pod at a time, followers first (highest slot first), and the leader
 * last, only after leadership moved off it. The next pod goes only once every member is back on the
 * cluster: answering, applied the configuration in force, active at the leader and caught up with its
 * log. So two members are never down at once.
 */
import type { NodeId } from "../../raft/mod.ts";
import type { LeaderObservation, Member, Observation, PlannerTuning } from "../../reconfig/types.ts";
import type { ClusterView } from "./cluster_view.ts";
import { type ClusterRef, podName } from "./names.ts";

export type UpgradeStep =
  /** Every member runs the StatefulSet's current revision. */
  | { kind: "done" }
  | { kind: "wait"; message: string }
  | { kind: "deletePod"; pod: string; member: Member; message: string }
  | { kind: "transferLeader"; to: NodeId; message: string };

export interface UpgradeInput {
  ref: ClusterRef;
  view: ClusterView;
  observed: Observation;
  members: Member[];
  /** The StatefulSet's status.updateRevision: the revision of its current template. */
  updateRevision?: string;
  tuning: PlannerTuning;
}

/** Members whose pod runs an older revision than the StatefulSet's current one. */
export function outdatedMembers(input: Pick<UpgradeInput, "view" | "members" | "updateRevision">): Member[] {
  if (!input.updateRevision) return [];
  return input.members.filter((m) => {
    const revision = input.view.slots.get(m.slot)?.revision;
    return revision !== undefined && revision !== input.updateRevision;
  });
}

/** Why `id` is not fully back in the cluster, or undefined when it is. */
function notBack(input: UpgradeInput, leader: LeaderObservation, member: Member): string | undefined {
  const facts = input.view.slots.get(member.slot);
  const node = input.observed.nodes[String(member.slot)];
  if (!facts?.pod || !node?.reachable || node.id !== member.id) {
    return `node ${member.id} is not answering yet`;
  }
  if (facts.terminating) return `pod ${facts.pod} is stopping`;
  if (!facts.ready) return `pod ${facts.pod} is not ready yet`;
  if (member.id === leader.id) return undefined;
  if (!leader.voters.includes(member.id)) return `node ${member.id} is not a voter`;
  if ((node.confIndex ?? 0) < leader.confIndex) {
    return `node ${member.id} has not applied configuration ${leader.confIndex}`;
  }
  if (!leader.active[String(member.id)]) return `node ${member.id} is not active at the leader yet`;
  const match = leader.match[String(member.id)] ?? 0;
  if (match < leader.lastIndex - input.tuning.maxLearnerLag) {
    return `node ${member.id} is catching up (${match}/${leader.lastIndex})`;
  }
  return undefined;
}

export function planUpgrade(input: UpgradeInput): UpgradeStep {
  const outdated = outdatedMembers(input);
  if (!outdated.length) return { kind: "done" };
  const leader = input.observed.leader;
  const total = input.members.length;
  const progress = `${total - outdated.length}/${total} members updated`;
  if (!leader) return { kind: "wait", message: `rolling upgrade (${progress}): no leader answers` };
  for (const member of input.members) {
    const why = notBack(input, leader, member);
    if (why) return { kind: "wait", message: `rolling upgrade (${progress}): ${why}` };
  }
  const followers = outdated.filter((m) => m.id !== leader.id).sort((a, b) => b.slot - a.slot);
  if (followers.length) {
    const member = followers[0];
    return {
      kind: "deletePod",
      pod: podName(input.ref, member.slot),
      member,
      message: `rolling upgrade (${progress}): restarting ${
        podName(input.ref, member.slot)
      } (node ${member.id})`,
    };
  }
  // Only the leader is left: hand leadership to the most caught-up updated voter first.
  const candidates = input.members.filter((m) => m.id !== leader.id && leader.voters.includes(m.id));
  const leaderMember = outdated[0];
  if (!candidates.length) {
    return {
      kind: "deletePod",
      pod: podName(input.ref, leaderMember.slot),
      member: leaderMember,
      message: `rolling upgrade (${progress}): restarting the only member ${
        podName(input.ref, leaderMember.slot)
      } (the cluster is unavailable until it is back)`,
    };
  }
  const to =
    candidates.sort((a, b) =>
      (leader.match[String(b.id)] ?? 0) - (leader.match[String(a.id)] ?? 0) || a.id - b.id
    )[0].id;
  return {
    kind: "transferLeader",
    to,
    message:
      `rolling upgrade (${progress}): moving leadership from node ${leader.id} to node ${to} before restarting it`,
  };
}

/**
 * One model of "a member came back empty" (its storage, disk or claim was lost), and how it is
 * replaced. The local supervisor and the Kubernetes operator both get it through planNextStep:
 * neither needs code of its own beyond the actions they already execute.
 *
 * API (pure, like the rest of the planner):
 * - `cameBackEmpty(member, node, leader)`: the one definition. A settled member whose process
 *   answers in the member's slot but has no storage of that member any more: it reports itself
 *   quarantined under the old id with a storage incarnation other than the one the leader's
 *   member directory holds (it restarted with empty storage and waits to be re-added), or has
 *   no identity at all (the identity file went with the data). A member the cluster added in its
 *   current incarnation is still joining, even while quarantined.
 * - `lostMembers(ctx)`: the settled members that came back empty, as observed now.
 * - `beginReplacement(ctx, lost, shrinkPhase)`: the first step of a replacement. It records
 *   `status.replacing` and removes the old ids through the mode's shrink path (safe mode:
 *   EnterJoint -> [TransferLeader] -> CommitNew -> LeaveJoint -> RemoveMembers, i.e. joint
 *   consensus; RemoveMembers stops the old process and deletes its storage/claim). Back in Idle
 *   one member short, the ordinary grow path re-adds the slot under a NEW id (ids are never
 *   reused: `status.nextNodeId`): startMembers -> AddLearners -> CatchUp -> EnterJoint ->
 *   CommitNew -> LeaveJoint. The replacement is remembered in `status.replacing` so that each
 *   step's message, `local status` and the RaftCluster status can say what is going on.
 * - `replacementStep(ctx)`: called in Idle; once every slot being replaced holds a settled voter
 *   again, it clears `status.replacing` and reports the replacement done.
 *
 * Nothing depends on `status.replacing` for correctness: if it is lost (a status schema that
 * prunes it), the removal still completes and the grow path still refills the slot.
 */
import type { LeaderObservation, Member, NodeObservation, Phase, Replacement } from "./types.ts";
import { beginResize, ids, type PhaseContext, type Step } from "./phase_steps.ts";

export function cameBackEmpty(
  member: Member,
  node: NodeObservation | undefined,
  leader?: LeaderObservation,
): boolean {
  if (!node?.reachable) return false;
  if (!node.initialized) return true;
  if (node.id !== member.id || node.quarantined !== true) return false;
  // A new member is quarantined too, from its first start until it applies the entry that added
  // it as a learner, which can come after the planner has moved on (a slow or delayed learner).
  // The leader's member directory tells the two apart: it holds the incarnation the cluster
  // added, and only storage that came back empty has another one. Without that directory
  // (no leader answers, an older server), quarantined means lost, as before.
  return !addedInThisIncarnation(leader?.memberIncarnations?.[String(member.id)], node.incarnation);
}

/**
 * Whether a member's storage is the incarnation the cluster added (`added`, from the leader's
 * member directory): a quarantined member that is still joining, not one that came back empty.
 */
export function addedInThisIncarnation(added: string | undefined, own: string | undefined): boolean {
  return added !== undefined && own !== undefined && added === own;
}

export function lostMembers(ctx: PhaseContext): Member[] {
  return ctx.status.members.filter((m) =>
    cameBackEmpty(m, ctx.input.observed.nodes[String(m.slot)], ctx.leader)
  );
}

export function beginReplacement(ctx: PhaseContext, lost: Member[], shrink: Phase): Step {
  const s = ctx.status;
  const lostIds = ids(lost);
  const staying = s.members.filter((m) => !lostIds.includes(m.id));
  if (staying.length * 2 <= s.members.length) {
    return {
      action: { kind: "wait", afterMs: ctx.tuning.pollMs * 10 },
      message: `nodes ${lostIds} lost their storage, and the ${staying.length} left of ${s.members.length} ` +
        `are no majority: the cluster cannot replace them (its data may be lost; restore from a backup)`,
    };
  }
  const replacing: Replacement[] = [
    ...(s.replacing ?? []),
    ...lost.map((m) => ({ slot: m.slot, lostId: m.id })),
  ];
  return {
    next: shrink,
    message: `${lost.map((m) => `node ${m.id} (slot ${m.slot})`).join(", ")} came back with empty storage: ` +
      `removing ${
        lostIds.length > 1 ? "them" : "it"
      } through joint consensus, then re-adding the slot under a new id`,
    patch: { removing: lost, targetVoters: ids(staying), replacing },
  };
}

/** In Idle: names the new ids once the grow path starts, and clears the replacement once whole. */
export function replacementStep(ctx: PhaseContext): Step | undefined {
  const s = ctx.status;
  if (!s.replacing?.length) return undefined;
  // Until the cluster is back at its size, the grow path is still refilling the slots.
  if (s.members.length < ctx.input.desiredReplicas) return undefined;
  const refilled = s.replacing.flatMap((r) => {
    const now = s.members.find((m) => m.slot === r.slot && m.id !== r.lostId);
    return now ? [`node ${r.lostId} by node ${now.id}`] : [];
  });
  return {
    next: "Idle",
    message: `${refilled.length ? `replaced ${refilled.join(", ")}` : "replacement no longer needed"} ` +
      `(lost storage): voters [${ids(s.members)}]`,
    patch: { replacing: [] },
  };
}

/**
 * Idle, with a cluster: replace members that came back empty first, then close a finished
 * replacement, then resize (a replaced slot is refilled by the grow path, under a new id).
 */
export function idleStep(ctx: PhaseContext, grow: Phase, shrink: Phase): Step {
  const lost = lostMembers(ctx);
  if (lost.length) return beginReplacement(ctx, lost, shrink);
  const done = replacementStep(ctx);
  if (done) return done;
  const step = beginResize(ctx, grow, shrink);
  const replacing = ctx.status.replacing ?? [];
  if (replacing.length && "next" in step && step.next === grow) {
    const lostIds = replacing.map((r) => r.lostId).join(", ");
    return { ...step, message: `replacing lost node ${lostIds}: ${step.message}` };
  }
  return step;
}

/**
 * Membership configurations and the rules for changing them (etcd's confchange package, in
 * spirit). A configuration is immutable; `applyConfChange` returns a new one or throws a
 * ConfChangeError that says what was wrong, so a bad change never half-applies.
 */
import type { ConfChange, ConfChangeOp, ConfState, NodeId, SafetyMode } from "./types.ts";
import { allowsDirectMultiVoterChange, allowsVoterWithoutLearnerStage } from "./safety.ts";

export class ConfChangeError extends Error {
  override name = "ConfChangeError";
}

export interface Membership {
  readonly voters: ReadonlySet<NodeId>;
  readonly votersOutgoing: ReadonlySet<NodeId>;
  readonly learners: ReadonlySet<NodeId>;
  readonly learnersNext: ReadonlySet<NodeId>;
}

export const EMPTY_MEMBERSHIP: Membership = {
  voters: new Set(),
  votersOutgoing: new Set(),
  learners: new Set(),
  learnersNext: new Set(),
};

export function isJoint(m: Membership): boolean {
  return m.votersOutgoing.size > 0;
}

export function isVoter(m: Membership, id: NodeId): boolean {
  return m.voters.has(id) || m.votersOutgoing.has(id);
}

/** Every node the leader replicates to: voters of both halves and learners (current and next). */
export function allMembers(m: Membership): NodeId[] {
  const ids = new Set<NodeId>([...m.voters, ...m.votersOutgoing, ...m.learners, ...m.learnersNext]);
  return [...ids].sort((a, b) => a - b);
}

const sorted = (s: ReadonlySet<NodeId>) => [...s].sort((a, b) => a - b);

export function toConfState(m: Membership): ConfState {
  return {
    voters: sorted(m.voters),
    votersOutgoing: sorted(m.votersOutgoing),
    learners: sorted(m.learners),
    learnersNext: sorted(m.learnersNext),
  };
}

export function fromConfState(cs: ConfState): Membership {
  return {
    voters: new Set(cs.voters),
    votersOutgoing: new Set(cs.votersOutgoing),
    learners: new Set(cs.learners),
    learnersNext: new Set(cs.learnersNext),
  };
}

export function describeMembership(m: Membership): string {
  const list = (s: ReadonlySet<NodeId>) => sorted(s).join(",");
  let out = `voters=(${list(m.voters)})`;
  if (isJoint(m)) out += `&&(${list(m.votersOutgoing)})`;
  if (m.learners.size) out += ` learners=(${list(m.learners)})`;
  if (m.learnersNext.size) out += ` learners_next=(${list(m.learnersNext)})`;
  return out;
}

/** The ops that turn the voter set `current` into `target`: add the new voters, remove the others. */
export function voterChangeOps(current: readonly NodeId[], target: readonly NodeId[]): ConfChangeOp[] {
  return [
    ...target.filter((id) => !current.includes(id)).map((node) => ({ op: "addVoter" as const, node })),
    ...current.filter((id) => !target.includes(id)).map((node) => ({ op: "remove" as const, node })),
  ];
}

/** The voter ids that differ between two sets (symmetric difference size). */
function voterDelta(a: ReadonlySet<NodeId>, b: ReadonlySet<NodeId>): number {
  let d = 0;
  for (const id of a) if (!b.has(id)) d++;
  for (const id of b) if (!a.has(id)) d++;
  return d;
}

function isValidId(id: unknown): id is NodeId {
  return typeof id === "number" && Number.isSafeInteger(id) && id > 0;
}

/**
 * Applies `change` to `m`:
 * - no ops, not joint-flagged: leave the joint configuration (C_old,new -> C_new);
 * - `joint: true`: enter C_old,new where C_new is C_old with the ops applied;
 * - otherwise a simple change, allowed to alter at most one voter (a single-server change is
 *   safe on its own; more needs joint consensus), except in `unsafe-no-joint` and
 *   `unsafe-early-vote`, whose whole point is to skip that protection.
 */
export function applyConfChange(m: Membership, change: ConfChange, mode: SafetyMode): Membership {
  if (!change || !Array.isArray(change.ops)) throw new ConfChangeError("malformed configuration change");
  if (change.ops.length === 0 && !change.joint) {
    if (!isJoint(m)) throw new ConfChangeError("cannot leave a joint configuration: not in one");
    const learners = new Set(m.learners);
    for (const id of m.learnersNext) learners.add(id);
    return { voters: new Set(m.voters), votersOutgoing: new Set(), learners, learnersNext: new Set() };
  }
  if (isJoint(m)) {
    throw new ConfChangeError("configuration is joint: leave it (an empty change) before the next change");
  }
  const voters = new Set(m.voters);
  const learners = new Set(m.learners);
  const learnersNext = new Set<NodeId>();
  const outgoing = change.joint ? new Set(m.voters) : new Set<NodeId>();
  for (const { op, node } of change.ops) {
    if (!isValidId(node)) throw new ConfChangeError(`invalid node id ${String(node)}`);
    switch (op) {
      case "addVoter":
        if (!m.voters.has(node) && !m.learners.has(node) && !allowsVoterWithoutLearnerStage(mode)) {
          throw new ConfChangeError(
            `node ${node} is not a learner: in ${mode} mode a new member is added as a learner first, ` +
              "catches up, and is then promoted",
          );
        }
        learners.delete(node);
        learnersNext.delete(node);
        voters.add(node);
        break;
      case "addLearner":
        voters.delete(node);
        // A voter of C_old cannot be a learner while C_old still counts: it becomes one on leave.
        if (outgoing.has(node)) learnersNext.add(node);
        else learners.add(node);
        break;
      case "remove":
        voters.delete(node);
        learners.delete(node);
        learnersNext.delete(node);
        break;
      default:
        throw new ConfChangeError(`unknown configuration change op ${String(op)}`);
    }
  }
  if (voters.size === 0) throw new ConfChangeError("removing all voters is not allowed");
  if (change.joint) {
    if (voterDelta(voters, outgoing) === 0 && change.ops.every((o) => o.op !== "addLearner")) {
      // Entering joint with identical halves is harmless but almost always a planning mistake.
      throw new ConfChangeError("joint change does not change the voters");
    }
  } else if (voterDelta(voters, m.voters) > 1 && !allowsDirectMultiVoterChange(mode)) {
    throw new ConfChangeError(
      "more than one voter changes: use a joint configuration (joint: true) for multi-member changes",
    );
  }
  return { voters, votersOutgoing: outgoing, learners, learnersNext };
}

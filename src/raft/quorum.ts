/**
 * Quorum arithmetic. A majority quorum is "more than half of a voter set"; a joint quorum is
 * "a majority of C_new AND a majority of C_old". Everything in the protocol that needs agreement
 * (commit, elections, ReadIndex, check-quorum) goes through these few functions, which is what
 * makes joint consensus safe: no decision can be taken by C_new or C_old alone.
 */
import type { NodeId } from "./types.ts";

export type VoteResult = "won" | "lost" | "pending";

/**
 * The highest index acknowledged by a majority of `voters`. An empty set imposes no constraint
 * (returns +Infinity) so that a non-joint configuration is just a joint one with an empty half.
 */
export function majorityCommitted(voters: ReadonlySet<NodeId>, acked: (id: NodeId) => number): number {
  const n = voters.size;
  if (n === 0) return Infinity;
  const indexes: number[] = [];
  for (const id of voters) indexes.push(acked(id));
  indexes.sort((a, b) => b - a);
  return indexes[n >> 1]; // the (n/2+1)-th largest
}

export function majorityVote(voters: ReadonlySet<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const n = voters.size;
  if (n === 0) return "won";
  let yes = 0, missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) yes++;
  }
  const need = (n >> 1) + 1;
  if (yes >= need) return "won";
  if (yes + missing >= need) return "pending";
  return "lost";
}

export function jointCommitted(
  incoming: ReadonlySet<NodeId>,
  outgoing: ReadonlySet<NodeId>,
  acked: (id: NodeId) => number,
): number {
  return Math.min(majorityCommitted(incoming, acked), majorityCommitted(outgoing, acked));
}

export function jointVote(
  incoming: ReadonlySet<NodeId>,
  outgoing: ReadonlySet<NodeId>,
  votes: ReadonlyMap<NodeId, boolean>,
): VoteResult {
  const a = majorityVote(incoming, votes);
  const b = majorityVote(outgoing, votes);
  if (a === "won" && b === "won") return "won";
  if (a === "lost" || b === "lost") return "lost";
  return "pending";
}

/**
 * The active membership plus per-peer progress and election votes. Every quorum question the
 * node asks ("what is committed?", "did I win?", "is a quorum still with me?") is answered here
 * against the current, possibly joint, configuration.
 */
import type { NodeId } from "./types.ts";
import { allMembers, EMPTY_MEMBERSHIP, type Membership } from "./membership.ts";
import { Progress } from "./progress.ts";
import { jointCommitted, jointVote, type VoteResult } from "./quorum.ts";

export class ProgressTracker {
  membership: Membership = EMPTY_MEMBERSHIP;
  readonly progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();

  constructor(private readonly maxInflight: number) {}

  /**
   * Switches to a new membership, keeping progress of nodes that stay, creating fresh progress
   * (next = `nextIndex`) for new ones and dropping progress of removed ones.
   */
  setMembership(membership: Membership, nextIndex: number): { added: NodeId[]; removed: NodeId[] } {
    this.membership = membership;
    const members = new Set(allMembers(membership));
    const added: NodeId[] = [];
    const removed: NodeId[] = [];
    for (const id of [...this.progress.keys()]) {
      if (!members.has(id)) {
        this.progress.delete(id);
        removed.push(id);
      }
    }
    for (const id of members) {
      const isLearner = membership.learners.has(id) || membership.learnersNext.has(id);
      const existing = this.progress.get(id);
      if (existing) {
        existing.isLearner = isLearner;
      } else {
        this.progress.set(id, new Progress(nextIndex, this.maxInflight, isLearner));
        added.push(id);
      }
    }
    return { added, removed };
  }

  /** The highest index a (joint) quorum has acknowledged, leaving out voters still catching up. */
  committed(): number {
    const { voters, votersOutgoing } = this.membership;
    const acked = (id: NodeId) => {
      const pr = this.progress.get(id);
      return pr && !pr.catchingUp ? pr.match : 0;
    };
    const counting = (set: ReadonlySet<NodeId>) => {
      let anyCatchingUp = false;
      for (const id of set) if (this.progress.get(id)?.catchingUp) anyCatchingUp = true;
      if (!anyCatchingUp) return set;
      const reduced = new Set<NodeId>();
      for (const id of set) if (!this.progress.get(id)?.catchingUp) reduced.add(id);
      return reduced;
    };
    const c = jointCommitted(counting(voters), counting(votersOutgoing), acked);
    return c === Infinity ? 0 : c;
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  resetVotes(): void {
    this.votes.clear();
  }

  tallyVotes(): VoteResult {
    return jointVote(this.membership.voters, this.membership.votersOutgoing, this.votes);
  }

  /** Whether the given set of nodes forms a (joint) quorum. */
  isQuorum(ids: ReadonlySet<NodeId>): boolean {
    const votes = new Map<NodeId, boolean>();
    for (const id of ids) votes.set(id, true);
    return jointVote(this.membership.voters, this.membership.votersOutgoing, votes) === "won";
  }

  /** Check-quorum: did a quorum talk to the leader recently? Resets the activity marks. */
  quorumActiveAndReset(self: NodeId): boolean {
    const active = new Set<NodeId>();
    for (const [id, pr] of this.progress) {
      if (id === self || pr.recentActive) active.add(id);
      if (id !== self) pr.recentActive = false;
    }
    return this.isQuorum(active);
  }

  /** Voters in either half, sorted: the nodes to ask for votes. */
  voterIds(): NodeId[] {
    const ids = new Set<NodeId>([...this.membership.voters, ...this.membership.votersOutgoing]);
    return [...ids].sort((a, b) => a - b);
  }
}

/**
 * Drives random membership changes the way each safety mode's operator would:
 * - safe: add learners, promote through C_old,new (possibly swapping a voter out), leave,
 *   remove members (sometimes the leader, after a transfer), transfer leadership;
 * - unsafe-early-vote: add new members directly as voters;
 * - unsafe-no-joint: add learners, then hand C_new to the nodes one by one, out of the log.
 * New members get fresh ids (ids are never reused); removed members are eventually shut down.
 * A member that came back with empty storage (quarantined: it may not vote) is replaced: removed
 * through a joint configuration, with fresh members added later under new ids.
 */
import type { ConfState, NodeId } from "../raft/mod.ts";
import type { SimCluster } from "./cluster.ts";
import { cameBackEmpty } from "../reconfig/replacement.ts";

const MAX_MEMBERS = 7;

export class MembershipDriver {
  private nextId: number;
  /** Nodes started for the next addition but still opening their storage. */
  private starting: NodeId[] = [];
  changes = 0;

  constructor(private readonly cluster: SimCluster) {
    this.nextId = Math.max(0, ...cluster.nodes.keys()) + 1;
  }

  /** One decision: called periodically by the random run. */
  act(): void {
    const c = this.cluster;
    const leader = c.leader();
    if (!leader) return;
    const cs = leader.raft.confState();
    if (cs.votersOutgoing.length) {
      this.propose(leader.id, { ops: [], joint: false });
      return;
    }
    const members = new Set([...cs.voters, ...cs.learners]);
    this.retireRemoved(members);
    if (this.replaceLost(leader.id, cs)) return;
    const waiting = this.starting.find((id) => c.nodes.get(id)?.running);
    if (waiting !== undefined) {
      this.starting = this.starting.filter((id) => id !== waiting);
      this.proposeAdd(leader.id, waiting);
      return;
    }
    const r = c.rng.next();
    if (r < 0.25 && members.size < MAX_MEMBERS) this.addMember(leader.id);
    else if (r < 0.5 && cs.learners.length) this.promote(leader.id, cs);
    else if (r < 0.62 && cs.voters.length > 3) this.removeVoter(leader.id, cs);
    else if (r < 0.72 && cs.learners.length) {
      this.propose(leader.id, { ops: [{ op: "remove", node: c.rng.pick(cs.learners) }], joint: false });
    } else if (r < 0.85) this.transfer(leader.id, cs);
  }

  private propose(
    leader: NodeId,
    change: { ops: { op: "addVoter" | "addLearner" | "remove"; node: NodeId }[]; joint: boolean },
  ) {
    const result = this.cluster.proposeConfChange(leader, change);
    if (typeof result === "number") this.changes++;
    return result;
  }

  /**
   * Removes a member whose storage was lost (it runs quarantined under its old id): through a
   * joint configuration when it is a voter. Returns whether a change was proposed. Also called
   * once the faults stop, so that the cluster becomes whole again. "Lost" is the operator's own
   * definition (reconfig/replacement.ts), applied to what the simulated node reports.
   */
  replaceLost(leader: NodeId, cs: ConfState): boolean {
    const lost = [...cs.voters, ...cs.learners].find((id) =>
      cameBackEmpty({ slot: id, id }, this.observe(id))
    );
    if (lost === undefined || (cs.voters.includes(lost) && cs.voters.length <= 1)) return false;
    this.cluster.trace(`REPLACE lost member ${lost}`);
    this.propose(leader, { ops: [{ op: "remove", node: lost }], joint: cs.voters.includes(lost) });
    return true;
  }

  /** What the operator would see of a simulated node through its admin API. */
  private observe(id: NodeId) {
    const node = this.cluster.nodes.get(id);
    if (!node?.running || !node.driver) return undefined;
    return { reachable: true, initialized: true, id, quarantined: node.driver.quarantined };
  }

  private addMember(leader: NodeId): void {
    const id = this.nextId++;
    const node = this.cluster.addNode(id);
    if (node.running) this.proposeAdd(leader, id);
    else this.starting.push(id);
  }

  private proposeAdd(leader: NodeId, id: NodeId): void {
    const op = this.cluster.mode === "unsafe-early-vote" ? "addVoter" : "addLearner";
    this.propose(leader, { ops: [{ op, node: id }], joint: false });
  }

  private promote(leader: NodeId, cs: ConfState): void {
    const c = this.cluster;
    const learner = c.rng.pick(cs.learners);
    const swapOut = c.rng.chance(0.4) ? c.rng.pick(cs.voters) : undefined;
    if (c.mode === "unsafe-no-joint") {
      const voters = cs.voters.filter((v) => v !== swapOut).concat(learner).sort((a, b) => a - b);
      this.handOutOfLog({
        voters,
        votersOutgoing: [],
        learners: cs.learners.filter((l) => l !== learner),
        learnersNext: [],
      });
      return;
    }
    const ops: { op: "addVoter" | "remove"; node: NodeId }[] = [{ op: "addVoter", node: learner }];
    if (swapOut !== undefined) ops.push({ op: "remove", node: swapOut });
    this.propose(leader, { ops, joint: true });
  }

  private removeVoter(leader: NodeId, cs: ConfState): void {
    const c = this.cluster;
    const victim = c.rng.pick(cs.voters);
    if (victim === leader && c.rng.chance(0.7)) {
      this.transfer(leader, cs);
      return;
    }
    if (c.mode === "unsafe-no-joint") {
      this.handOutOfLog({
        voters: cs.voters.filter((v) => v !== victim),
        votersOutgoing: [],
        learners: cs.learners,
        learnersNext: [],
      });
      return;
    }
    this.propose(leader, { ops: [{ op: "remove", node: victim }], joint: true });
  }

  private transfer(leader: NodeId, cs: ConfState): void {
    const targets = cs.voters.filter((v) => v !== leader);
    if (targets.length) this.cluster.transferLeadership(leader, this.cluster.rng.pick(targets));
  }

  /** unsafe-no-joint: each node adopts the new configuration at its own random moment. */
  private handOutOfLog(conf: ConfState): void {
    const c = this.cluster;
    this.changes++;
    for (const n of c.nodes.values()) {
      c.at(c.rng.int(0, 1500), () => {
        if (n.alive) c.adoptConfigUnsafe(n.id, conf);
      });
    }
  }

  /** Members removed from the configuration are shut down a while later, as an operator would. */
  private retireRemoved(members: Set<NodeId>): void {
    const c = this.cluster;
    for (const n of c.nodes.values()) {
      if (n.running && !members.has(n.id) && n.raft.confState().voters.length && c.rng.chance(0.3)) {
        const self = n.raft.confState();
        const stillListed = self.voters.includes(n.id) || self.votersOutgoing.includes(n.id) ||
          self.learners.includes(n.id);
        if (!stillListed) c.crash(n.id);
      }
    }
  }
}

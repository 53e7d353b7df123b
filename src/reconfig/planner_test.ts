/**
 * The planner against the real Raft core: the deterministic simulator plays the cluster, and a
 * small executor turns actions into simulator operations (a started member is a new simulated
 * node, a stopped one crashes for good). Every run also checks Raft's invariants, so a plan that
 * broke safety would fail here even if it reached the right size.
 */
import assert from "node:assert/strict";
import { SimCluster } from "../sim/cluster.ts";
import { type NodeId, type SafetyMode, voterChangeOps } from "../raft/mod.ts";
import { planNextStep } from "./planner.ts";
import { cameBackEmpty } from "./replacement.ts";
import { type Action, initialStatus, type Observation, type Phase, type ReconfigStatus } from "./types.ts";

class SimExecutor {
  readonly cluster: SimCluster;
  /** slot -> node id of the processes that exist (stopped members are gone). */
  readonly slots = new Map<number, NodeId>();
  readonly phases: Phase[] = [];
  readonly actions: Action[] = [];
  /** Leader id and the ids being removed, each time a leaveJoint was issued. */
  readonly leaveJointLeaders: Array<{ leader: NodeId; removing: NodeId[] }> = [];
  status: ReconfigStatus = initialStatus();

  constructor(readonly mode: SafetyMode, seed = 1) {
    this.cluster = new SimCluster({
      seed,
      mode,
      network: { minDelay: 1, maxDelay: 8, dropRate: 0, duplicateRate: 0 },
    });
  }

  observe(): Observation {
    const nodes: Observation["nodes"] = {};
    for (const [slot, id] of this.slots) {
      const n = this.cluster.nodes.get(id);
      if (!n) continue;
      if (!n.running) {
        // Crashed, or still opening its storage: its /status would not answer.
        nodes[String(slot)] = { reachable: false, initialized: false };
        continue;
      }
      const conf = n.raft.confState();
      nodes[String(slot)] = {
        reachable: true,
        initialized: true,
        id,
        applied: n.raft.appliedIndex,
        confIndex: n.sm.confIndex,
        joint: conf.votersOutgoing.length > 0,
        voters: conf.voters,
        quarantined: n.driver!.quarantined,
        incarnation: n.driver!.incarnation,
      };
    }
    const l = this.cluster.leader();
    if (!l) return { nodes };
    const s = l.raft.status();
    const match: Record<string, number> = {};
    const active: Record<string, boolean> = {};
    for (const [id, p] of Object.entries(s.progress ?? {})) {
      match[id] = p.match;
      active[id] = p.recentActive;
    }
    return {
      nodes,
      leader: {
        id: l.id,
        voters: s.conf.voters,
        votersOutgoing: s.conf.votersOutgoing,
        learners: s.conf.learners,
        confIndex: l.sm.confIndex,
        lastIndex: s.lastIndex,
        match,
        active,
        memberIncarnations: Object.fromEntries(
          [...l.sm.members].map(([id, m]) => [String(id), m.incarnation]),
        ),
      },
    };
  }

  execute(action: Action): void {
    const c = this.cluster;
    const leader = c.leader();
    switch (action.kind) {
      case "startMembers":
        for (const m of action.members) {
          if (this.slots.get(m.slot) === m.id) continue;
          if (action.bootstrap) c.bootstrap([m.id]);
          else c.addNode(m.id);
          this.slots.set(m.slot, m.id);
        }
        break;
      case "addLearners":
        if (leader) {
          c.proposeConfChange(leader.id, {
            ops: action.members.map((m) => ({ op: "addLearner", node: m.id })),
            joint: false,
          });
        }
        break;
      case "enterJoint": {
        if (!leader) break;
        c.proposeConfChange(leader.id, {
          ops: voterChangeOps(leader.raft.confState().voters, action.voters),
          joint: true,
        });
        break;
      }
      case "transferLeader":
        if (leader) c.transferLeadership(leader.id, action.to);
        break;
      case "leaveJoint":
        if (leader) {
          this.leaveJointLeaders.push({ leader: leader.id, removing: this.status.removing.map((m) => m.id) });
          c.proposeConfChange(leader.id, { ops: [], joint: false });
        }
        break;
      case "removeLearners":
        if (leader) {
          c.proposeConfChange(leader.id, {
            ops: action.ids.map((node) => ({ op: "remove", node })),
            joint: false,
          });
        }
        break;
      case "stopMembers":
        for (const m of action.members) {
          if (this.slots.get(m.slot) !== m.id) continue;
          c.crash(m.id);
          this.slots.delete(m.slot);
        }
        break;
      case "changeVotersDirectly": {
        if (!leader) break;
        c.proposeConfChange(leader.id, {
          ops: voterChangeOps(leader.raft.confState().voters, action.voters),
          joint: false,
        });
        break;
      }
      case "adoptConfig": {
        const n = c.nodes.get(action.member.id);
        if (n?.alive) {
          c.adoptConfigUnsafe(n.id, {
            voters: action.voters,
            votersOutgoing: [],
            learners: [],
            learnersNext: [],
          });
        }
        break;
      }
      case "wait":
      case "none":
        break;
    }
  }

  /** One planning step: plan, persist the status (before acting), act, let time pass. */
  step(desired: number): Action {
    const decision = planNextStep({
      desiredReplicas: desired,
      mode: this.mode,
      status: this.status,
      observed: this.observe(),
    });
    this.status = decision.status;
    for (const p of [...decision.trail, this.status.phase]) {
      if (this.phases.at(-1) !== p) this.phases.push(p);
    }
    if (decision.action.kind !== "none") {
      this.actions.push(decision.action);
      this.execute(decision.action);
      this.cluster.runFor(decision.action.kind === "wait" ? decision.action.afterMs : 50);
    }
    return decision.action;
  }

  /** Plans and executes until the planner is idle at `desired`. */
  reconcile(desired: number, maxRounds = 400): number {
    for (let round = 0; round < maxRounds; round++) {
      if (this.step(desired).kind === "none") return round;
    }
    throw new Error(`did not converge to ${desired}: stuck in ${this.status.phase} (${this.status.message})`);
  }

  /**
   * "A member came back empty" as the simulator models it (SimCluster.wipe): its storage is
   * lost and it restarts under its old id with nothing, quarantined until it is replaced.
   */
  wipe(id: NodeId): void {
    this.cluster.wipe(id);
    this.cluster.runFor(50);
  }

  voters(): NodeId[] {
    return this.cluster.leader()?.raft.confState().voters ?? [];
  }
}

Deno.test("safe plans grow and shrink through learners, joint consensus and an explicit leave", async (t) => {
  const x = new SimExecutor("safe");
  const confIndexes: number[] = [];
  for (const desired of [3, 5, 3, 1, 4, 2]) {
    await t.step(`to ${desired}`, () => {
      x.reconcile(desired);
      assert.equal(x.voters().length, desired);
      assert.deepEqual(
        x.status.members.map((m) => m.slot),
        [...Array(desired).keys()],
        "slots 0..n-1 are the members",
      );
      assert.equal(x.cluster.checker.violations.length, 0, JSON.stringify(x.cluster.checker.violations));
      confIndexes.push(x.status.confIndex);
    });
  }
  assert.deepEqual([...confIndexes].sort((a, b) => a - b), confIndexes, "configuration indexes only grow");
  const ids = x.actions.filter((a) => a.kind === "startMembers").flatMap((a) =>
    a.kind === "startMembers" ? a.members.map((m) => m.id) : []
  );
  assert.equal(new Set(ids).size, ids.length, "node ids are never reused");
  assert.ok(x.actions.every((a) => a.kind !== "changeVotersDirectly" && a.kind !== "adoptConfig"));
  for (const l of x.leaveJointLeaders) {
    assert.ok(!l.removing.includes(l.leader), `leader ${l.leader} left while leading`);
  }
  const order = ["AddLearners", "CatchUp", "EnterJoint", "CommitNew", "LeaveJoint"];
  const seen = x.phases.filter((p) => order.includes(p));
  assert.deepEqual(seen.slice(0, 5), order, "a scale-up goes through every safe step in order");
});

Deno.test("a member that came back empty is removed through joint consensus and its slot re-added under a new id", async (t) => {
  const x = new SimExecutor("safe", 7);
  x.reconcile(3);
  const usedIds = new Set(x.status.members.map((m) => m.id));
  for (const slot of [1, 2, 0]) {
    await t.step(`wipe the member in slot ${slot}`, () => {
      const lost = x.status.members.find((m) => m.slot === slot)!;
      if (x.cluster.leader()?.id === lost.id) {
        // A wiped leader: its successor is elected while it is down.
        x.cluster.crash(lost.id);
        x.cluster.runUntil(() => !!x.cluster.leader() && x.cluster.leader()!.id !== lost.id, 5_000);
      }
      x.wipe(lost.id);
      const phasesBefore = x.phases.length;
      const first = x.step(3);
      assert.deepEqual(first, { kind: "enterJoint", voters: x.status.targetVoters });
      assert.deepEqual(x.status.replacing, [{ slot, lostId: lost.id }]);
      x.reconcile(3);
      const now = x.status.members.find((m) => m.slot === slot)!;
      assert.notEqual(now.id, lost.id, "the slot is re-added under a new id");
      assert.ok(!usedIds.has(now.id), `id ${now.id} was never used before`);
      usedIds.add(now.id);
      assert.deepEqual([...x.voters()].sort(), x.status.members.map((m) => m.id).sort());
      assert.equal(x.voters().length, 3);
      assert.ok(!x.voters().includes(lost.id));
      assert.deepEqual(x.status.replacing, []);
      const phases = x.phases.slice(phasesBefore);
      const removal = ["EnterJoint", "CommitNew", "LeaveJoint", "RemoveMembers", "Idle"];
      const readd = ["AddLearners", "CatchUp", "EnterJoint", "CommitNew", "LeaveJoint", "Idle"];
      assert.deepEqual(phases.filter((p) => p !== "TransferLeader"), [...removal, ...readd]);
      assert.equal(x.cluster.checker.violations.length, 0, JSON.stringify(x.cluster.checker.violations));
    });
  }
});

Deno.test("no majority left: the planner says the lost members cannot be replaced, and does nothing", () => {
  const x = new SimExecutor("safe", 9);
  x.reconcile(3);
  const [a, b] = x.status.members.filter((m) => m.id !== x.cluster.leader()!.id);
  x.wipe(a.id);
  x.wipe(b.id);
  const action = x.step(3);
  assert.equal(action.kind, "wait");
  assert.match(x.status.message, /no majority: the cluster cannot replace them/);
  assert.equal(x.status.phase, "Idle");
});

Deno.test("removing the leader moves leadership first, inside the joint configuration", () => {
  const x = new SimExecutor("safe", 3);
  x.reconcile(3);
  // Make the node in the highest slot the leader, so that shrinking removes it.
  const highest = x.status.members.at(-1)!.id;
  x.cluster.transferLeadership(x.cluster.leader()!.id, highest);
  x.cluster.runFor(300);
  assert.equal(x.cluster.leader()?.id, highest);
  x.reconcile(2);
  assert.ok(x.phases.includes("TransferLeader"));
  assert.ok(x.actions.some((a) => a.kind === "transferLeader"));
  assert.notEqual(x.cluster.leader()?.id, highest);
  assert.equal(x.voters().length, 2);
  assert.equal(x.cluster.checker.violations.length, 0);
});

Deno.test("a restarted executor resumes from its persisted status at every step", () => {
  for (let crashAt = 1; crashAt < 40; crashAt += 3) {
    const x = new SimExecutor("safe", crashAt);
    x.reconcile(3);
    // Run the 3 -> 5 plan for `crashAt` rounds, then "crash" and resume from a copy of the
    // persisted status: planning reads nothing else of the executor, and the nodes outlive it.
    for (let i = 0; i < crashAt && x.step(5).kind !== "none"; i++);
    x.status = structuredClone(x.status);
    x.reconcile(5);
    assert.equal(x.voters().length, 5, `crash after ${crashAt} rounds`);
    x.reconcile(3);
    assert.equal(x.voters().length, 3);
    assert.equal(x.cluster.checker.violations.length, 0);
  }
});

Deno.test("a scale-up can be aborted before the joint configuration", () => {
  const x = new SimExecutor("safe", 5);
  x.reconcile(3);
  // Start 3 -> 5, stop as soon as the learners exist, then ask for 3 again.
  for (let i = 0; i < 60 && x.status.phase !== "CatchUp"; i++) x.step(5);
  assert.equal(x.status.phase, "CatchUp");
  x.reconcile(3);
  assert.ok(x.phases.includes("AbortLearners"));
  assert.deepEqual(x.cluster.leader()!.raft.confState().learners, []);
  assert.equal(x.voters().length, 3);
  assert.equal(x.slots.size, 3, "the aborted members were stopped");
});

const leaderView = (
  over: Partial<Observation["leader"] & object> = {},
): NonNullable<Observation["leader"]> => ({
  id: 1,
  voters: [1],
  votersOutgoing: [],
  learners: [2, 3],
  confIndex: 4,
  lastIndex: 100,
  match: { 1: 100, 2: 100, 3: 100 },
  active: { 2: true, 3: true },
  ...over,
});
const running = (id: number, confIndex = 4) => ({
  reachable: true,
  initialized: true,
  id,
  confIndex,
  joint: false,
});
const growing: ReconfigStatus = {
  ...initialStatus(),
  phase: "EnterJoint",
  members: [{ slot: 0, id: 1 }],
  adding: [{ slot: 1, id: 2 }, { slot: 2, id: 3 }],
  targetVoters: [1, 2, 3],
  nextNodeId: 4,
};

Deno.test("health gate: no joint configuration while most new voters are down or behind", () => {
  const observed: Observation = {
    leader: leaderView({ active: { 2: false, 3: false } }),
    nodes: { 0: running(1), 1: running(2), 2: running(3) },
  };
  const d = planNextStep({ desiredReplicas: 3, mode: "safe", status: growing, observed });
  assert.equal(d.action.kind, "wait");
  assert.match(d.status.message, /health gate/);
  const behind = planNextStep({
    desiredReplicas: 3,
    mode: "safe",
    status: growing,
    observed: { ...observed, leader: leaderView({ match: { 1: 100, 2: 3, 3: 5 } }) },
  });
  assert.equal(behind.action.kind, "wait");
  const healthy = planNextStep({
    desiredReplicas: 3,
    mode: "safe",
    status: growing,
    observed: { ...observed, leader: leaderView() },
  });
  assert.deepEqual(healthy.action, { kind: "enterJoint", voters: [1, 2, 3] });
});

Deno.test("resuming: the live configuration decides how far a persisted step really got", () => {
  const nodes = { 0: running(1, 5), 1: running(2, 5), 2: running(3, 5) };
  // Crashed after proposing EnterJoint, before persisting: the config is already joint.
  const joint = planNextStep({
    desiredReplicas: 3,
    mode: "safe",
    status: growing,
    observed: {
      nodes,
      leader: leaderView({ voters: [1, 2, 3], votersOutgoing: [1], learners: [], confIndex: 5 }),
    },
  });
  assert.deepEqual(joint.action, { kind: "leaveJoint" });
  assert.deepEqual(joint.trail, ["EnterJoint", "CommitNew"]);
  // Crashed after the leave was committed: straight to settling, then idle.
  const left = planNextStep({
    desiredReplicas: 3,
    mode: "safe",
    status: { ...growing, phase: "CommitNew" },
    observed: {
      nodes: { 0: running(1, 6), 1: running(2, 6), 2: running(3, 6) },
      leader: leaderView({ voters: [1, 2, 3], learners: [], confIndex: 6 }),
    },
  });
  assert.equal(left.action.kind, "none");
  assert.deepEqual(left.trail, ["CommitNew", "LeaveJoint", "Idle"]);
  assert.deepEqual(left.status.members.map((m) => m.id), [1, 2, 3]);
  assert.equal(left.status.confIndex, 6);
});

Deno.test("the unsafe plans take their shortcut", () => {
  const early = new SimExecutor("unsafe-early-vote", 2);
  early.reconcile(3);
  early.reconcile(5);
  assert.equal(early.voters().length, 5);
  assert.ok(early.actions.some((a) => a.kind === "changeVotersDirectly"));
  assert.ok(!early.actions.some((a) => a.kind === "enterJoint" || a.kind === "addLearners"));

  const noJoint = new SimExecutor("unsafe-no-joint", 2);
  noJoint.reconcile(3);
  noJoint.reconcile(5);
  assert.ok(noJoint.actions.some((a) => a.kind === "adoptConfig"));
  assert.ok(!noJoint.actions.some((a) => a.kind === "enterJoint"));
  for (const n of noJoint.cluster.alive()) assert.equal(n.raft.confState().voters.length, 5);
});

Deno.test("bad desired sizes change nothing", () => {
  const d = planNextStep({
    desiredReplicas: 0,
    mode: "safe",
    status: initialStatus(),
    observed: { nodes: {} },
  });
  assert.equal(d.action.kind, "none");
  assert.match(d.status.message, /positive integer/);
});

Deno.test("came back empty: quarantined under the old id, or no identity at all; not a member still starting", () => {
  const m = { slot: 1, id: 2 };
  assert.equal(cameBackEmpty(m, { reachable: true, initialized: true, id: 2, quarantined: true }), true);
  assert.equal(
    cameBackEmpty(m, { reachable: true, initialized: false }),
    true,
    "its identity went with the data",
  );
  assert.equal(cameBackEmpty(m, { reachable: false, initialized: false }), false, "down is not empty");
  assert.equal(cameBackEmpty(m, { reachable: true, initialized: true, id: 2, quarantined: false }), false);
  assert.equal(cameBackEmpty(m, undefined), false);

  // Planned from Idle: the member whose pod came back with no identity is removed first.
  const settled: ReconfigStatus = {
    ...initialStatus(),
    members: [{ slot: 0, id: 1 }, { slot: 1, id: 2 }, { slot: 2, id: 3 }],
    confIndex: 6,
    nextNodeId: 4,
  };
  const d = planNextStep({
    desiredReplicas: 3,
    mode: "safe",
    status: settled,
    observed: {
      leader: leaderView({ voters: [1, 2, 3], learners: [], confIndex: 6, active: { 2: true, 3: true } }),
      nodes: { 0: running(1, 6), 1: { reachable: true, initialized: false }, 2: running(3, 6) },
    },
  });
  assert.deepEqual(d.action, { kind: "enterJoint", voters: [1, 3] });
  assert.deepEqual(d.status.replacing, [{ slot: 1, lostId: 2 }]);
  assert.deepEqual(d.status.removing, [{ slot: 1, id: 2 }]);
  assert.match(d.messages!.join("; "), /node 2 \(slot 1\) came back with empty storage/);
});

Deno.test("a quarantined member does not hold up LeaveJoint (it cannot apply anything until it is replaced)", () => {
  const status: ReconfigStatus = { ...growing, phase: "LeaveJoint" };
  const d = planNextStep({
    desiredReplicas: 3,
    mode: "safe",
    status,
    observed: {
      leader: leaderView({ voters: [1, 2, 3], learners: [], confIndex: 6 }),
      nodes: { 0: running(1, 6), 1: running(2, 6), 2: { ...running(3, 0), quarantined: true } },
    },
  });
  // Settled at once, and then the replacement of node 3 starts in the same decision.
  assert.deepEqual(d.trail, ["LeaveJoint", "Idle", "EnterJoint"]);
  assert.deepEqual(d.status.replacing, [{ slot: 2, lostId: 3 }]);
  assert.deepEqual(d.action, { kind: "enterJoint", voters: [1, 2] });
});

Deno.test("a new member still applying its own addition is joining, not lost: no replacement (CI: bug2 lost node 3)", () => {
  // unsafe-no-joint growing 1 -> 3: every node already lists C_new, but node 3 (slow, or its
  // appends delayed) has not applied the entry that added it as a learner, so it still reports
  // the quarantine of a fresh storage. The leader's directory holds that very incarnation.
  const adopting: ReconfigStatus = {
    ...initialStatus(),
    phase: "AdoptConfigOneByOne",
    members: [{ slot: 0, id: 1 }],
    adding: [{ slot: 1, id: 2 }, { slot: 2, id: 3 }],
    targetVoters: [1, 2, 3],
    nextNodeId: 4,
  };
  const adopted = (id: number) => ({ ...running(id, 3), voters: [1, 2, 3], incarnation: `inc-${id}` });
  const observed = (node3Incarnation: string): Observation => ({
    leader: leaderView({
      voters: [1, 2, 3],
      learners: [],
      confIndex: 3,
      memberIncarnations: { 1: "inc-1", 2: "inc-2", 3: "inc-3" },
    }),
    nodes: {
      0: adopted(1),
      1: adopted(2),
      2: { ...adopted(3), quarantined: true, incarnation: node3Incarnation },
    },
  });
  const joining = planNextStep({
    desiredReplicas: 3,
    mode: "unsafe-no-joint",
    status: adopting,
    observed: observed("inc-3"),
  });
  assert.deepEqual(joining.trail, ["AdoptConfigOneByOne", "Idle"]);
  assert.deepEqual(joining.action, { kind: "none" });
  assert.deepEqual(joining.status.members.map((m) => m.id), [1, 2, 3]);
  assert.deepEqual(joining.status.replacing ?? [], []);
  assert.deepEqual(joining.status.removing, []);
  assert.match(joining.status.message, /^steady: 3 voters \[1,2,3\]/);

  // The same observation with another incarnation on node 3: its storage really came back empty.
  const lost = planNextStep({
    desiredReplicas: 3,
    mode: "unsafe-no-joint",
    status: adopting,
    observed: observed("inc-3-wiped"),
  });
  assert.deepEqual(lost.status.replacing, [{ slot: 2, lostId: 3 }]);
  assert.deepEqual(lost.action, { kind: "adoptConfig", member: { slot: 2, id: 3 }, voters: [1, 2] });

  const m = { slot: 2, id: 3 };
  const leader = observed("inc-3").leader;
  const node = { reachable: true, initialized: true, id: 3, quarantined: true, incarnation: "inc-3" };
  assert.equal(cameBackEmpty(m, node, leader), false, "added in this incarnation: joining");
  assert.equal(cameBackEmpty(m, { ...node, incarnation: "other" }, leader), true);
  assert.equal(
    cameBackEmpty(m, node, undefined),
    true,
    "no leader to ask: quarantined means lost, as before",
  );
  assert.equal(cameBackEmpty(m, { ...node, incarnation: undefined }, leader), true, "an older server");
});

Deno.test("simulated: a learner that has not heard from the leader when the unsafe plan ends is kept, not replaced", () => {
  const x = new SimExecutor("unsafe-no-joint", 3);
  x.reconcile(1);
  x.cluster.net.block(1, 3); // the leader's appends to node 3 do not arrive (yet)
  x.reconcile(3);
  assert.ok(!x.phases.includes("RemoveMembers"), `phases: ${x.phases.join(" -> ")}`);
  assert.deepEqual(x.status.members.map((m) => m.id), [1, 2, 3]);
  assert.equal(x.cluster.nodes.get(3)!.driver!.quarantined, true, "node 3 has not applied its addition yet");
  x.cluster.net.heal();
  x.cluster.runUntil(() => !x.cluster.nodes.get(3)!.driver!.quarantined, 5_000);
  assert.equal(
    x.cluster.nodes.get(3)!.driver!.quarantined,
    false,
    "node 3 applied its addition once reached",
  );
  assert.equal(x.reconcile(3), 0, "nothing left to do");
  assert.deepEqual([...x.voters()].sort(), [1, 2, 3]);
  assert.equal(x.cluster.checker.violations.length, 0, JSON.stringify(x.cluster.checker.violations));
});

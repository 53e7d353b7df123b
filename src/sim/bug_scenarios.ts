/**
 * The project's two membership-change bugs as fault schedules. The seed varies the network
 * delays, how many entries are committed behind the stale node's back, and the timing of each
 * step; elections happen naturally (timeouts, pre-vote), nothing is forced. The same schedule
 * runs in any mode: the unsafe mode breaks, `safe` must not.
 *
 * bug1 (unsafe-early-vote): 3 voters {A,B,S}; members 4 and 5 join with empty logs. S misses
 * entries that A and B commit; {A,B} is cut off from {S,4,5}; S wins with the votes of 4 and 5
 * and a stale log, then commits over the acknowledged entries.
 *
 * bug2 (unsafe-no-joint): 3 -> 5. In unsafe-no-joint, S, 4 and 5 adopt C_new out of the log
 * while A (the leader) and B still run C_old; {A,B} | {S,4,5}: A commits with C_old's majority,
 * {S,4,5} elect a leader under C_new and commit different entries at the same indexes. In safe
 * mode the same schedule goes through C_old,new, which needs both majorities.
 */
import type { NodeId, SafetyMode } from "../raft/mod.ts";
import { SimCluster } from "./cluster.ts";
import { encodeCommand } from "./state_machine.ts";
import type { Violation } from "./invariants.ts";
import { Rng } from "./rng.ts";

export type BugName = "bug1" | "bug2";

export interface BugRunResult {
  bug: BugName;
  seed: number;
  mode: SafetyMode;
  violations: Violation[];
  /** Whether the minority-with-new-members side {S,4,5} ever elected a leader. */
  splitBrainLeader: boolean;
  steps: number;
  trace: string[];
}

interface Roles {
  leader: NodeId;
  partner: NodeId;
  stale: NodeId;
}

function setup(
  seed: number,
  mode: SafetyMode,
  trace: boolean,
): { cluster: SimCluster; rng: Rng; roles: Roles } {
  const rng = new Rng(seed ^ 0x2545f491);
  const cluster = new SimCluster({
    seed,
    mode,
    network: { minDelay: 1, maxDelay: rng.int(2, 12), dropRate: 0, duplicateRate: 0 },
    trace,
    traceLimit: 500,
  });
  cluster.bootstrap([1, 2, 3]);
  if (!cluster.runUntil(() => cluster.leader() !== undefined, 5000)) throw new Error("no initial leader");
  cluster.runFor(rng.int(20, 100));
  const leader = cluster.leader()!.id;
  const others = [1, 2, 3].filter((id) => id !== leader);
  const stale = rng.pick(others);
  const partner = others.find((id) => id !== stale)!;
  for (let i = rng.int(1, 5); i > 0; i--) cluster.propose(leader, encodeCommand("setup", `s${i}`));
  cluster.runFor(rng.int(50, 150));
  return { cluster, rng, roles: { leader, partner, stale } };
}

function proposeMany(cluster: SimCluster, on: NodeId, key: string, count: number): void {
  for (let i = 0; i < count; i++) cluster.propose(on, encodeCommand(key, `${key}-${i}`));
}

function otherSideLeader(cluster: SimCluster, side: NodeId[]): NodeId | undefined {
  return side.find((id) => cluster.nodes.get(id)?.running && cluster.nodes.get(id)!.raft.role === "leader");
}

/** The common ending: let the {S,4,5} side try to lead and write, then heal, settle and report. */
function splitAndFinish(
  bug: BugName,
  seed: number,
  mode: SafetyMode,
  { cluster, rng, roles }: { cluster: SimCluster; rng: Rng; roles: Roles },
): BugRunResult {
  const side = [roles.stale, 4, 5];
  cluster.net.heal();
  cluster.net.partition([[roles.leader, roles.partner], side]);
  cluster.trace(`PARTITION ${roles.leader},${roles.partner} | ${side}`);
  proposeMany(cluster, roles.leader, "old-side", rng.int(1, 3));
  const elected = cluster.runUntil(() => otherSideLeader(cluster, side) !== undefined, 3000);
  if (elected) {
    proposeMany(cluster, otherSideLeader(cluster, side)!, "new-side", rng.int(1, 3));
    cluster.runFor(rng.int(200, 500));
  }
  cluster.net.heal();
  cluster.trace("HEAL");
  cluster.runFor(2000);
  cluster.checkLogs();
  return {
    bug,
    seed,
    mode,
    violations: cluster.checker.violations,
    splitBrainLeader: elected,
    steps: cluster.steps,
    trace: cluster.traceLines,
  };
}

export function runBug1(seed: number, mode: SafetyMode, trace = false): BugRunResult {
  const { cluster, rng, roles } = setup(seed, mode, trace);
  // 4 and 5 start empty and do not hear from the leader before the partition.
  cluster.addNode(4);
  cluster.addNode(5);
  for (const n of [4, 5]) cluster.net.isolate(n, [roles.leader]);
  const op = mode === "unsafe-early-vote" ? "addVoter" : "addLearner";
  cluster.proposeConfChange(roles.leader, { ops: [{ op, node: 4 }, { op, node: 5 }], joint: false });
  cluster.runUntil(() =>
    cluster.mustGet(roles.stale).raft.confState().voters.length +
        cluster.mustGet(roles.stale).raft.confState().learners.length >= 5, 1000);
  // The stale node misses entries that the leader and its partner commit.
  cluster.net.isolate(roles.stale, [roles.leader]);
  proposeMany(cluster, roles.leader, "acked", rng.int(1, 6));
  cluster.runFor(rng.int(30, 120));
  return splitAndFinish("bug1", seed, mode, { cluster, rng, roles });
}

export function runBug2(seed: number, mode: SafetyMode, trace = false): BugRunResult {
  const { cluster, rng, roles } = setup(seed, mode, trace);
  cluster.addNode(4);
  cluster.addNode(5);
  cluster.proposeConfChange(roles.leader, {
    ops: [{ op: "addLearner", node: 4 }, { op: "addLearner", node: 5 }],
    joint: false,
  });
  cluster.runFor(rng.int(150, 300)); // the learners catch up
  if (mode === "unsafe-no-joint") {
    // The operator hands C_new to S, 4 and 5 first, one by one.
    const cNew = { voters: [1, 2, 3, 4, 5], votersOutgoing: [], learners: [], learnersNext: [] };
    for (const id of [roles.stale, 4, 5]) {
      cluster.adoptConfigUnsafe(id, cNew);
      cluster.runFor(rng.int(0, 20));
    }
  } else {
    cluster.proposeConfChange(roles.leader, {
      ops: [{ op: "addVoter", node: 4 }, { op: "addVoter", node: 5 }],
      joint: true,
    });
    cluster.runFor(rng.int(0, 30));
  }
  return splitAndFinish("bug2", seed, mode, { cluster, rng, roles });
}

export function runBug(bug: BugName, seed: number, mode: SafetyMode, trace = false): BugRunResult {
  return bug === "bug1" ? runBug1(seed, mode, trace) : runBug2(seed, mode, trace);
}

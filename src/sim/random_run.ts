/**
 * One randomized simulation, fully determined by its seed: 3 or 5 initial voters running the
 * production node driver, a seeded network (delay, drop, duplicate, reorder), a disk whose writes
 * take time (so messages, snapshots and ticks arrive while a Ready is being persisted), client
 * proposals, crashes that lose unsynced writes and may tear the last one, restarts, wiped disks
 * under an old id, partitions (random splits, leader isolation, a bridge node), snapshots and
 * compaction, and membership changes driven as each safety mode's operator would.
 */
import type { NodeId, SafetyMode } from "../raft/mod.ts";
import { SimCluster } from "./cluster.ts";
import { MembershipDriver } from "./membership_driver.ts";
import { encodeCommand } from "./state_machine.ts";
import type { Violation } from "./invariants.ts";
import { Rng } from "./rng.ts";

export interface RunOptions {
  seed: number;
  mode: SafetyMode;
  /** Virtual milliseconds to simulate. */
  durationMs?: number;
  trace?: boolean;
  /** Trace lines kept (the last ones); default 300. */
  traceLimit?: number;
}

export interface RunResult {
  seed: number;
  mode: SafetyMode;
  violations: Violation[];
  /**
   * Liveness after the faults stop: with the network healed and every node restarted, a leader
   * must emerge and every member must catch up. Each entry says who is stuck and how.
   */
  stalls: string[];
  steps: number;
  committed: number;
  confChanges: number;
  faults: number;
  /** Disks lost (a node restarted empty under its old id). */
  wipes: number;
  trace: string[];
}

/**
 * After healing: within a few election timeouts there must be a leader, and every alive member
 * of its configuration must have caught up with the leader's commit index (a new entry is
 * proposed first, so that an idle cluster counts too).
 */
function checkLiveness(cluster: SimCluster): string[] {
  const elected = cluster.runUntil(() => cluster.leader() !== undefined, 5000);
  const first = cluster.leader();
  if (!elected || !first) return ["no leader within 5 s after healing"];
  cluster.propose(first.id, encodeCommand("liveness", "probe"));
  const behind = () => {
    const leader = cluster.leader();
    if (!leader) return [0];
    const conf = leader.raft.confState();
    const members = new Set([...conf.voters, ...conf.votersOutgoing, ...conf.learners, ...conf.learnersNext]);
    return [...members].filter((id) => {
      const n = cluster.nodes.get(id);
      return n?.running && n.raft.appliedIndex < leader.raft.commitIndex;
    });
  };
  if (cluster.runUntil(() => behind().length === 0, 5000)) return [];
  const leader = cluster.leader();
  if (!leader) return ["the leader was lost again after healing, and no new one emerged"];
  return behind().map((id) => {
    const p = leader.raft.status().progress?.[id];
    return `node ${id} stuck at applied ${
      cluster.nodes.get(id)!.raft.appliedIndex
    } < commit ${leader.raft.commitIndex} ` +
      `(leader ${leader.id}'s progress: ${
        p ? `${p.state} match ${p.match} next ${p.next} inflight ${p.inflight}` : "none"
      })`;
  });
}

export function randomRun(options: RunOptions): RunResult {
  const setup = new Rng(options.seed ^ 0x5bd1e995);
  const cluster = new SimCluster({
    seed: options.seed,
    mode: options.mode,
    network: {
      minDelay: 1,
      maxDelay: setup.int(2, 25),
      dropRate: setup.chance(0.5) ? setup.next() * 0.05 : 0,
      duplicateRate: setup.chance(0.3) ? setup.next() * 0.03 : 0,
    },
    snapshotEvery: setup.chance(0.6) ? setup.int(5, 60) : 0,
    retainEntries: setup.int(0, 10),
    maxInflight: setup.int(2, 64),
    diskDelay: setup.chance(0.75) ? [0, setup.int(1, 30)] : [0, 0],
    trace: options.trace,
    traceLimit: options.traceLimit ?? 300,
  });
  const initial: NodeId[] = setup.chance(0.7) ? [1, 2, 3] : [1, 2, 3, 4, 5];
  cluster.bootstrap(initial);
  const driver = new MembershipDriver(cluster);
  const rng = cluster.rng;
  const duration = options.durationMs ?? 6000;
  const crashed = new Set<NodeId>();
  let faults = 0;
  let wipes = 0;
  let counter = 0;

  // The workload, faults and membership changes reschedule themselves until the run ends.
  let running = true;
  const propose = () => {
    if (!running) return;
    const leader = cluster.leader();
    if (leader) {
      for (let i = rng.int(1, 3); i > 0; i--) {
        cluster.propose(leader.id, encodeCommand(`k${rng.int(0, 9)}`, `v${++counter}`));
      }
    }
    cluster.at(rng.int(5, 30), propose);
  };

  // A lost disk is a permanent failure: only one lost member at a time, and never one whose
  // configuration (or either half of a joint one) has fewer than 3 voters, which cannot lose any.
  const canLoseADisk = () => !cluster.alive().some((n) => n.driver?.quarantined);
  const survivesLosing = (id: NodeId) => {
    const conf = cluster.leader()?.raft.confState();
    if (!conf) return false;
    return [conf.voters, conf.votersOutgoing].every((group) => !group.includes(id) || group.length >= 3);
  };

  const fault = () => {
    if (!running) return;
    faults++;
    const alive = cluster.alive().map((n) => n.id);
    const all = [...cluster.nodes.keys()];
    const r = rng.next();
    if (r < 0.2 && alive.length > 1) {
      const victim = rng.pick(alive);
      cluster.crash(victim, rng.chance(0.5));
      crashed.add(victim);
    } else if (r < 0.24 && canLoseADisk()) {
      // A lost disk: the node restarts empty under its old id.
      const victim = rng.pick(alive);
      if (survivesLosing(victim)) {
        cluster.wipe(victim);
        wipes++;
      }
    } else if (r < 0.35 && crashed.size) {
      const back = rng.pick([...crashed]);
      crashed.delete(back);
      cluster.restart(back);
    } else if (r < 0.5) {
      const shuffled = rng.shuffle(all);
      const cut = rng.int(1, Math.max(1, shuffled.length - 1));
      cluster.net.heal();
      cluster.net.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
      cluster.trace(`PARTITION ${shuffled.slice(0, cut)} | ${shuffled.slice(cut)}`);
    } else if (r < 0.6) {
      const leader = cluster.leader();
      if (leader) {
        cluster.net.heal();
        cluster.net.isolate(leader.id, all);
        cluster.trace(`ISOLATE leader ${leader.id}`);
      }
    } else if (r < 0.67 && all.length >= 3) {
      // A bridge: two halves that cannot talk, and one node that talks to both.
      const shuffled = rng.shuffle(all);
      const [bridge, ...rest] = shuffled;
      const half = rest.length >> 1;
      cluster.net.heal();
      cluster.net.partition([rest.slice(0, half), rest.slice(half)]);
      cluster.trace(`BRIDGE ${bridge} between ${rest.slice(0, half)} and ${rest.slice(half)}`);
    } else {
      cluster.net.heal();
      cluster.trace("HEAL");
    }
    cluster.at(rng.int(100, 900), fault);
  };

  const reconfigure = () => {
    if (!running) return;
    driver.act();
    cluster.at(rng.int(50, 400), reconfigure);
  };

  cluster.at(rng.int(0, 50), propose);
  cluster.at(rng.int(200, 800), fault);
  cluster.at(rng.int(100, 600), reconfigure);

  const slice = 500;
  for (let t = 0; t < duration && cluster.checker.ok; t += slice) {
    cluster.runFor(slice);
    cluster.checkLogs();
  }
  // The end: no more faults; heal and restart everything, and let the cluster settle.
  running = false;
  cluster.net.heal();
  cluster.net.conditions = { ...cluster.net.conditions, dropRate: 0, duplicateRate: 0 };
  for (const id of crashed) cluster.restart(id);
  // Members whose disk was lost are replaced, as the operator and the supervisor do.
  for (let i = 0; i < 20 && cluster.checker.ok; i++) {
    const leader = cluster.leader();
    if (leader) {
      const cs = leader.raft.confState();
      if (cs.votersOutgoing.length) cluster.proposeConfChange(leader.id, { ops: [], joint: false });
      else if (!driver.replaceLost(leader.id, cs)) break;
    }
    cluster.runFor(200);
  }
  if (cluster.checker.ok) cluster.runFor(1000);
  cluster.checkLogs();
  const stalls = cluster.checker.ok ? checkLiveness(cluster) : [];

  return {
    seed: options.seed,
    mode: options.mode,
    violations: cluster.checker.violations,
    stalls,
    steps: cluster.steps,
    committed: cluster.checker.maxCommitted,
    confChanges: driver.changes,
    faults,
    wipes,
    trace: cluster.traceLines,
  };
}

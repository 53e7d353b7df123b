/**
 * Is the local cluster whole? What `deno task local status` shows (text and --json) and its
 * exit code: every node's process checked by pid (a dead pid is not "running"), every node's
 * own /status, and the supervisor's reconfiguration status. A cluster is whole when the
 * supervisor runs, every node answers as a voter of one non-joint configuration of the desired
 * size, none is quarantined, no replacement or reconfiguration is in flight, a leader is known
 * and no disk alarm is raised.
 */
import type { LocalClusterState, LocalNode } from "./state.ts";
import { isOurProcess } from "./state.ts";
import { addedInThisIncarnation } from "../reconfig/replacement.ts";

/** The parts of a node's /status shown here. */
export interface NodeStatusView {
  id?: number;
  role?: string;
  term?: number;
  leader?: number;
  commit?: number;
  applied?: number;
  quarantined?: boolean;
  /** This node's storage incarnation. */
  incarnation?: string;
  conf?: { voters: number[]; learners: number[]; joint: boolean };
  /** The member directory (the leader's tells which incarnation of each member the cluster added). */
  members?: Record<string, { incarnation?: string }>;
  diskAlarm?: { raised: boolean; freeBytes?: number; reserveBytes: number };
}

export interface NodeHealth {
  node: LocalNode;
  /** "running", "dead" (the recorded pid is gone or is another program), or the recorded state. */
  process: string;
  status?: NodeStatusView;
}

export interface ClusterHealth {
  whole: boolean;
  supervisorRunning: boolean;
  problems: string[];
  nodes: NodeHealth[];
}

export function supervisorRunning(state: LocalClusterState, stateDir: string): boolean {
  return isOurProcess(state.supervisor?.pid, stateDir);
}

export function processState(node: LocalNode): string {
  if (node.state === "stopped") return "stopped";
  return isOurProcess(node.pid, node.dataDir) ? node.state : "dead";
}

/**
 * A new node: empty storage (quarantined) is expected until it applies its own addition as a
 * learner. It is being added by the planner, or the leader's member directory already holds this
 * very storage incarnation of it (as the planner judges it: reconfig/replacement.ts).
 */
export function joining(
  state: LocalClusterState,
  id: number,
  status?: NodeStatusView,
  leader?: NodeStatusView,
): boolean {
  if (state.reconfig.adding.some((m) => m.id === id)) return true;
  return addedInThisIncarnation(leader?.members?.[String(id)]?.incarnation, status?.incarnation);
}

/** The status of the node that leads, among those that answered. */
export function leaderStatus(nodes: NodeHealth[]): NodeStatusView | undefined {
  return nodes.find((n) => n.status?.role === "leader")?.status;
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

export function assessHealth(
  state: LocalClusterState,
  supervisorUp: boolean,
  nodes: NodeHealth[],
): ClusterHealth {
  const problems: string[] = [];
  if (!supervisorUp) {
    problems.push('the supervisor is not running: "deno task local start" resumes the cluster from its data');
  }
  const r = state.reconfig;
  for (const x of r.replacing ?? []) {
    problems.push(
      `replacing node ${x.lostId} (lost its storage) in slot ${x.slot}: ${r.phase}, ${r.message}`,
    );
  }
  if (r.phase !== "Idle" && !(r.replacing ?? []).length) {
    problems.push(`reconfiguration in progress: ${r.phase}, ${r.message}`);
  }
  const leader = leaderStatus(nodes);
  for (const { node, process, status } of nodes) {
    if (process === "dead") {
      problems.push(`node ${node.id}: its process (pid ${node.pid ?? "?"}) is gone`);
    } else if (!status) {
      problems.push(`node ${node.id} does not answer at ${node.clientUrl} (process ${process})`);
    }
    if (status?.quarantined) {
      problems.push(
        joining(state, node.id, status, leader)
          ? `node ${node.id} is new and waits to be added as a learner`
          : `node ${node.id} came back with empty storage (quarantined, it does not vote)`,
      );
    }
    if (status?.diskAlarm?.raised) {
      const free = status.diskAlarm.freeBytes === undefined ? "?" : mib(status.diskAlarm.freeBytes);
      problems.push(
        `node ${node.id}: NOSPACE alarm (${free} free, reserve ${
          mib(status.diskAlarm.reserveBytes)
        }): writes refused`,
      );
    }
  }
  if (!leader) problems.push("no leader answers right now");
  else if (leader.conf) {
    if (leader.conf.joint) problems.push(`the configuration is joint (voters [${leader.conf.voters}])`);
    if (leader.conf.voters.length !== state.desiredReplicas) {
      problems.push(
        `${leader.conf.voters.length} voters [${leader.conf.voters}], ${state.desiredReplicas} desired`,
      );
    }
  }
  return { whole: problems.length === 0, supervisorRunning: supervisorUp, problems, nodes };
}

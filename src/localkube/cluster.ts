/**
 * A whole localkube cluster in one state dir: the control plane, the node agent, and a state
 * file recording every PID, so that any process (the test that started it, or a later
 * `localkube down`) can stop it.
 */
import { elapsed, ensureBinaries } from "./build.ts";
import { ControlPlane, RecordedProcess, startControlPlane, tail } from "./control_plane.ts";
import { KubeApi } from "./kube_api.ts";
import { commandLine, isAlive, sleep, SpawnedProcess, spawnLogged, stopProcess } from "./processes.ts";
import type { AgentConfig } from "./agent/agent.ts";

export const REPO_ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
export const NODE_NAME = "localkube";

export interface ClusterState {
  stateDir: string;
  server: string;
  token: string;
  kubeconfigPath: string;
  kubectl: string;
  /** `127.0.0.1:<port>` of the agent's DNS (absent without a node agent). */
  dnsAddress?: string;
  podNetwork?: string;
  /** In start order; stopped in reverse. */
  processes: RecordedProcess[];
}

export function stateFile(stateDir: string): string {
  return `${stateDir}/localkube.json`;
}

export async function startCluster(options: {
  stateDir: string;
  nodeAgent: boolean;
  log: (line: string) => void;
}): Promise<{ state: ClusterState; spawned: SpawnedProcess[] }> {
  const { stateDir, log } = options;
  const started = performance.now();
  const binaries = await ensureBinaries(log);
  await Deno.mkdir(stateDir, { recursive: true });
  const plane = await startControlPlane({ binaries, stateDir, log });
  const state: ClusterState = {
    stateDir,
    server: plane.server,
    token: plane.adminToken,
    kubeconfigPath: plane.adminKubeconfig,
    kubectl: binaries.kubectl,
    processes: [...plane.processes],
  };
  const spawned = [...plane.spawned];
  await Deno.writeTextFile(stateFile(stateDir), JSON.stringify(state, null, 2));
  try {
    if (options.nodeAgent) {
      const agent = await startNodeAgent(plane, stateDir, log);
      state.processes.push(agent.process);
      spawned.push(agent.child);
      state.dnsAddress = agent.dnsAddress;
      state.podNetwork = agent.podNetwork;
      await Deno.writeTextFile(stateFile(stateDir), JSON.stringify(state, null, 2));
    }
    await waitUsable(plane, options.nodeAgent, log);
  } catch (e) {
    await stopCluster(state, log);
    throw e;
  }
  log(`localkube ready in ${elapsed(started)}: ${state.server}, KUBECONFIG=${state.kubeconfigPath}`);
  return { state, spawned };
}

async function startNodeAgent(plane: ControlPlane, stateDir: string, log: (line: string) => void) {
  const config: AgentConfig = {
    access: { server: plane.server, token: plane.agentToken, caPem: plane.caPem },
    nodeName: NODE_NAME,
    stateDir,
    repoRoot: REPO_ROOT,
    denoPath: Deno.execPath(),
  };
  const configPath = `${stateDir}/agent/config.json`;
  await Deno.mkdir(`${stateDir}/agent`, { recursive: true });
  await Deno.writeTextFile(configPath, JSON.stringify(config), { mode: 0o600 });
  const logFile = `${stateDir}/logs/node-agent.log`;
  const child = spawnLogged(Deno.execPath(), {
    args: [
      "run",
      "--config",
      `${REPO_ROOT}/deno.json`,
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-run",
      "--allow-sys",
      `${REPO_ROOT}/src/localkube/agent/main.ts`,
      configPath,
    ],
    logFile,
    env: { NO_COLOR: "1" },
  });
  log(`starting node agent (pid ${child.pid}, log ${logFile})`);
  const readyFile = `${stateDir}/agent/ready.json`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (!await isAlive(child.pid)) {
      throw new Error(`node agent exited during start-up; ${logFile}:\n${await tail(logFile)}`);
    }
    try {
      const ready = JSON.parse(await Deno.readTextFile(readyFile)) as {
        dnsAddress: string;
        podNetwork: string;
      };
      log(`node agent ready: pods in ${ready.podNetwork}, cluster DNS on ${ready.dnsAddress}`);
      return { child, process: { name: "node-agent", pid: child.pid, logFile }, ...ready };
    } catch {
      await sleep(200);
    }
  }
  await stopProcess(child.pid, 2_000);
  throw new Error(`node agent not ready after 60 s; ${logFile}:\n${await tail(logFile)}`);
}

/** Ready for a test: pods can be created (the default ServiceAccount exists) and scheduled (node Ready, untainted). */
async function waitUsable(plane: ControlPlane, nodeAgent: boolean, log: (line: string) => void) {
  const api = new KubeApi({ server: plane.server, token: plane.adminToken, caPem: plane.caPem });
  const started = performance.now();
  let problem = "";
  try {
    while (performance.now() - started < 90_000) {
      problem = await usabilityProblem(api, nodeAgent);
      if (!problem) {
        log(`cluster usable after ${elapsed(started)}`);
        return;
      }
      await sleep(250);
    }
    throw new Error(`localkube did not become usable within 90 s: ${problem}`);
  } finally {
    api.close();
  }
}

async function usabilityProblem(api: KubeApi, nodeAgent: boolean): Promise<string> {
  if (!await api.find("/api/v1/namespaces/default/serviceaccounts/default")) {
    return "the default ServiceAccount does not exist yet (kube-controller-manager creates it)";
  }
  if (!nodeAgent) return "";
  const node = await api.find<{
    spec?: { taints?: Array<{ key: string }> };
    status?: { conditions?: Array<{ type: string; status: string }> };
  }>(`/api/v1/nodes/${NODE_NAME}`);
  const ready = node?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
  const taints = node?.spec?.taints ?? [];
  if (!ready || taints.length) {
    return `node ${NODE_NAME} is not Ready and untainted yet (taints: ${taints.map((t) => t.key)})`;
  }
  return "";
}

/**
 * Stops everything of a cluster by PID: the node agent first (it stops its pods), then any
 * container it left behind, then the control plane in reverse start order.
 */
export async function stopCluster(state: ClusterState, log: (line: string) => void): Promise<void> {
  const failures: string[] = [];
  const stop = async (name: string, pid: number, graceMs: number) => {
    try {
      if (await isAlive(pid)) log(`stopping ${name} (pid ${pid})`);
      await stopProcess(pid, graceMs);
    } catch (e) {
      failures.push((e as Error).message);
    }
  };
  const agent = state.processes.find((p) => p.name === "node-agent");
  if (agent) await stop("node-agent", agent.pid, 15_000);
  for (const pid of await leftoverContainerPids(state.stateDir)) await stop("container", pid, 1_000);
  for (const p of [...state.processes].reverse()) {
    if (p.name !== "node-agent") await stop(p.name, p.pid, 5_000);
  }
  if (failures.length) throw new Error(`could not stop every localkube process:\n${failures.join("\n")}`);
}

/** Container PIDs the agent recorded and did not clear (it was killed): still ours if the command matches. */
async function leftoverContainerPids(stateDir: string): Promise<number[]> {
  const pids: number[] = [];
  try {
    for await (const entry of Deno.readDir(`${stateDir}/agent/pids`)) {
      const pid = Number(entry.name);
      if (pid && await isAlive(pid) && (await commandLine(pid)).includes("deno")) pids.push(pid);
    }
  } catch {
    // no agent ran in this state dir
  }
  return pids;
}

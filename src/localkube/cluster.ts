/**
 * A whole localkube cluster in one state dir: the control plane, a node (the process-based node
 * agent, or a real kubelet with containerd: see node/real_node.ts), and a state file recording
 * every PID and every host resource, so that any process (the test that started it, or a later
 * `localkube down`) can stop it.
 */
import { elapsed, ensureBinaries, ensureNodeBinaries } from "./build.ts";
import { ControlPlane, RecordedProcess, startControlPlane, tail } from "./control_plane.ts";
import {
  apiserverNodeArgs,
  drainPods,
  prepareRealNode,
  startRealNode,
  stopRealNode,
} from "./node/real_node.ts";
import { NODE_IP, NODE_POD_SUBNET, SERVICE_CIDR } from "./node/network.ts";
import type { RealNodeState } from "./node/node_state.ts";
import { KubeApi } from "./kube_api.ts";
import { commandLine, isAlive, sleep, SpawnedProcess, spawnLogged, stopProcess } from "./processes.ts";
import type { AgentConfig } from "./agent/agent.ts";

export const REPO_ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
export const NODE_NAME = "localkube";

/**
 * What runs pods: `agent`, the node agent (pods are local processes, fast, no root needed);
 * `kubelet`, a real node (containers of real images; root, one per machine); `none`, no node.
 */
export type NodeKind = "agent" | "kubelet" | "none";
export const NODE_KINDS: readonly NodeKind[] = ["agent", "kubelet", "none"];

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
  nodeKind?: NodeKind;
  /** The real node's host resources (kubelet mode), recorded before they are made. */
  node?: RealNodeState;
  /** Images loaded into the real node's containerd. */
  images?: string[];
}

export function stateFile(stateDir: string): string {
  return `${stateDir}/localkube.json`;
}

export async function startCluster(options: {
  stateDir: string;
  node: NodeKind;
  /** kubelet mode: build raft-kv and raft-operator and load them into the node (default true). */
  projectImages?: boolean;
  log: (line: string) => void;
}): Promise<{ state: ClusterState; spawned: SpawnedProcess[] }> {
  const { stateDir, log } = options;
  const started = performance.now();
  const binaries = await ensureBinaries(log);
  const nodeBinaries = options.node === "kubelet" ? await ensureNodeBinaries(log) : undefined;
  await Deno.mkdir(stateDir, { recursive: true });
  const state: ClusterState = {
    stateDir,
    server: "",
    token: "",
    kubeconfigPath: "",
    kubectl: binaries.kubectl,
    processes: [],
    nodeKind: options.node,
  };
  const save = () => Deno.writeTextFile(stateFile(stateDir), JSON.stringify(state, null, 2));
  const spawned: SpawnedProcess[] = [];
  let prepared;
  if (nodeBinaries) {
    try {
      prepared = await prepareRealNode(stateDir, NODE_NAME, async (node) => {
        state.node = node;
        await save();
      }, log);
    } catch (e) {
      await stopCluster(state, log).catch((stopError) =>
        log(`clean-up after the failed start: ${stopError.message}`)
      );
      throw e;
    }
  }
  let plane: ControlPlane;
  try {
    plane = await startControlPlane({
      binaries,
      stateDir,
      apiserver: prepared
        ? { address: NODE_IP, serviceCidr: SERVICE_CIDR, extraArgs: apiserverNodeArgs(prepared.pki) }
        : undefined,
      log,
    });
  } catch (e) {
    await stopCluster(state, log).catch((stopError) =>
      log(`clean-up after the failed start: ${stopError.message}`)
    );
    throw e;
  }
  Object.assign(state, {
    server: plane.server,
    token: plane.adminToken,
    kubeconfigPath: plane.adminKubeconfig,
  });
  state.processes.push(...plane.processes);
  spawned.push(...plane.spawned);
  await save();
  try {
    if (prepared && nodeBinaries) {
      const node = await startRealNode({
        prepared,
        binaries: nodeBinaries,
        server: plane.server,
        caPem: plane.caPem,
        adminToken: plane.adminToken,
        nodeName: NODE_NAME,
        stateDir,
        projectImages: options.projectImages ?? true,
        onProcess: async (process, child) => {
          state.processes.push(process);
          spawned.push(child);
          await save();
        },
        log,
      });
      state.images = node.images;
      state.dnsAddress = `${NODE_IP}:53`;
      state.podNetwork = NODE_POD_SUBNET;
      await save();
    }
    if (options.node === "agent") {
      const agent = await startNodeAgent(plane, stateDir, log);
      state.processes.push(agent.process);
      spawned.push(agent.child);
      state.dnsAddress = agent.dnsAddress;
      state.podNetwork = agent.podNetwork;
      await Deno.writeTextFile(stateFile(stateDir), JSON.stringify(state, null, 2));
    }
    await waitUsable(plane, options.node !== "none", log);
  } catch (e) {
    // The start-up error is the one to report; a failed clean-up is logged beside it.
    await stopCluster(state, log).catch((stopError) =>
      log(`clean-up after the failed start: ${stopError.message}`)
    );
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
  if (state.node) {
    // Controllers first, so that no new pod replaces a deleted one; then the kubelet stops the pods.
    for (
      const p of state.processes.filter((p) => ["kube-controller-manager", "kube-scheduler"].includes(p.name))
    ) {
      await stopProcess(p.pid, 5_000).catch((e) => failures.push(e.message));
    }
    const caPem = await Deno.readTextFile(`${state.stateDir}/apiserver/ca.crt`).catch(() => "");
    const kubelet = state.processes.find((p) => p.name === "kubelet");
    if (caPem && state.server && kubelet && await isAlive(kubelet.pid)) {
      await drainPods({ server: state.server, token: state.token, caPem }, log);
    }
    failures.push(...await stopRealNode(state.stateDir, state.node, state.processes, log));
  }
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

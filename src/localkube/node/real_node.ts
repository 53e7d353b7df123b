/**
 * A real Kubernetes node beside localkube's control plane: the upstream kubelet and kube-proxy,
 * containerd (Debian's, with its CRI plugin) running pods with runc, a CNI bridge network, the
 * cluster DNS and volume provisioner (services_main.ts), and a locally built pause image.
 *
 *   prepareRealNode   before the control plane: claim the machine, bridge, certificates, sysctls
 *   startRealNode     after it: containerd, images, services, kubelet, kube-proxy; node Ready
 *   stopRealNode      pods deleted through the API, then every process by PID, then every host
 *                     resource the node made, by the name recorded in its state
 */
import type { NodeBinaries } from "../build.ts";
import type { RecordedProcess } from "../control_plane.ts";
import { KubeApi } from "../kube_api.ts";
import { isAlive, sleep, SpawnedProcess, spawnLogged, stopProcess } from "../processes.ts";
import { ContainerEngine } from "../../images/engine.ts";
import { importIntoContainerd } from "../../images/load.ts";
import { buildProjectImages } from "../../images/project_images.ts";
import { capture, onPath } from "../../images/run_command.ts";
import { makeNodePki, NodePki } from "./pki.ts";
import { kubeconfigYaml } from "../kubeconfig.ts";
import {
  cniConflist,
  containerdToml,
  kubeletConfiguration,
  kubeProxyConfiguration,
  NodePaths,
  nodePaths,
} from "./configs.ts";
import {
  cgroupDirs,
  createBridge,
  deleteChains,
  deleteLink,
  exists,
  iptablesChains,
  isMountPoint,
  linkExists,
  pidsWithArgument,
  readSysctl,
  removeCgroupTree,
  tryCapture,
  unmountUnder,
  writeSysctl,
} from "./host.ts";
import { BRIDGE, CLUSTER_CIDR, CNI_NETWORK, NODE_IP, NODE_POD_SUBNET, SERVICE_CIDR } from "./network.ts";
import { MACHINE_CLAIM, readClaim, type RealNodeState } from "./node_state.ts";
import { buildPauseImage, PAUSE_IMAGE } from "./pause_image.ts";
import type { NodeServicesConfig } from "./services_main.ts";

const REPO_ROOT = new URL("../../../", import.meta.url).pathname.replace(/\/$/, "");
const CNI_BIN_DIRS = ["/usr/lib/cni", "/opt/cni/bin"];
const SYSCTLS = { "net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": "1" };
/** Fixed host paths the kubelet stack creates whatever its configuration says. */
const FIXED_PATHS = [
  "/run/containerd",
  "/run/netns", // also /var/run/netns: /var/run is a link to /run
  "/var/lib/kubelet",
  "/var/lib/cni",
  "/var/log/containers",
  "/var/log/pods",
];
/** kubelet's pod cgroups (cgroupfs driver), in every hierarchy. */
const POD_CGROUP = "kubepods";

/** Why this machine cannot run a real node (say so), or undefined when it can. */
export async function realNodeUnavailable(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return `a real node needs Linux, not ${Deno.build.os}`;
  if (Deno.uid() !== 0) return "a real node needs root (network namespaces, mounts, iptables, cgroups)";
  const missing: string[] = [];
  for (const tool of ["containerd", "ctr", "runc", "iptables", "ip", "findmnt", "openssl", "sysctl"]) {
    if (!await onPath(tool)) missing.push(tool);
  }
  if (!await cniBinDir()) missing.push("CNI plugins (bridge, host-local, portmap, loopback)");
  if (!await onPath("podman") && !await onPath("docker")) missing.push("podman or docker");
  if (missing.length) {
    return `missing for a real node: ${missing.join(", ")} ` +
      "(Debian: apt-get install containerd runc containernetworking-plugins iptables podman openssl)";
  }
  return undefined;
}

async function cniBinDir(): Promise<string | undefined> {
  for (const dir of CNI_BIN_DIRS) {
    if (await exists(`${dir}/bridge`) && await exists(`${dir}/host-local`)) return dir;
  }
  return undefined;
}

export interface PreparedNode {
  paths: NodePaths;
  pki: NodePki;
  state: RealNodeState;
}

/**
 * Claims the machine, records what exists, makes the bridge (the apiserver and DNS listen on its
 * address) and the certificates. `record` is called with the state before anything is created.
 */
export async function prepareRealNode(
  stateDir: string,
  nodeName: string,
  record: (state: RealNodeState) => Promise<void>,
  log: (line: string) => void,
): Promise<PreparedNode> {
  const why = await realNodeUnavailable();
  if (why) throw new Error(why);
  await claimMachine(stateDir, log);
  const paths = nodePaths(stateDir);
  await Deno.mkdir(paths.dir, { recursive: true });
  const state: RealNodeState = {
    containerdAddress: paths.containerdSocket,
    sysctls: {},
    chainsBefore: [...await iptablesChains()],
    createdPaths: [],
    notMountedBefore: [],
  };
  for (const path of FIXED_PATHS) {
    if (!await exists(path)) state.createdPaths.push(path);
    else if (!await isMountPoint(path)) state.notMountedBefore.push(path);
  }
  for (const key of Object.keys(SYSCTLS)) {
    const value = await readSysctl(key);
    if (value !== undefined) state.sysctls[key] = value;
  }
  if (await linkExists(BRIDGE)) {
    throw new Error(
      `the pod bridge ${BRIDGE} already exists: an earlier real node was not stopped ` +
        `(deno task localkube down, or: ip link delete ${BRIDGE})`,
    );
  }
  state.bridge = BRIDGE;
  await record(state);
  await createBridge(BRIDGE, `${NODE_IP}/24`);
  for (const [key, value] of Object.entries(SYSCTLS)) {
    if (state.sysctls[key] !== value) await writeSysctl(key, value);
  }
  log(
    `bridge ${BRIDGE} ${NODE_IP}/24 for pods (${NODE_POD_SUBNET} of ${CLUSTER_CIDR}), Services ${SERVICE_CIDR}`,
  );
  const pki = await makeNodePki(paths.pki, nodeName, NODE_IP);
  return { paths, pki, state };
}

async function claimMachine(stateDir: string, log: (line: string) => void): Promise<void> {
  const claim = await readClaim();
  if (claim && claim.stateDir !== stateDir) {
    const owner = await readStateFile(claim.stateDir);
    const alive = owner
      ? (await Promise.all(owner.processes.map((p) => isAlive(p.pid)))).some(Boolean)
      : false;
    if (alive) {
      throw new Error(
        `a real localkube node already runs on this machine (state ${claim.stateDir}); ` +
          "one node per machine: stop it first (deno task localkube down, or the test that started it)",
      );
    }
    if (owner?.node) {
      log(`cleaning up after a real node that was not stopped (state ${claim.stateDir})`);
      await cleanUpHost(claim.stateDir, owner.node, log);
    }
  }
  await Deno.writeTextFile(MACHINE_CLAIM, JSON.stringify({ stateDir, pid: Deno.pid }));
}

interface StateFile {
  processes: RecordedProcess[];
  node?: RealNodeState;
}

async function readStateFile(stateDir: string): Promise<StateFile | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(`${stateDir}/localkube.json`)) as StateFile;
  } catch {
    return undefined;
  }
}

/** The apiserver flags that make it the node's: kubelet client certificates, node address, Services. */
export function apiserverNodeArgs(pki: NodePki): string[] {
  return [
    `--client-ca-file=${pki.caCert}`,
    `--kubelet-client-certificate=${pki.apiserverKubeletClient.cert}`,
    `--kubelet-client-key=${pki.apiserverKubeletClient.key}`,
    `--kubelet-certificate-authority=${pki.caCert}`,
    // The node's name resolves nowhere: logs, exec and port-forward go to its InternalIP.
    "--kubelet-preferred-address-types=InternalIP,Hostname",
    "--enable-admission-plugins=NodeRestriction",
  ];
}

export interface StartedNode {
  processes: RecordedProcess[];
  spawned: SpawnedProcess[];
  images: string[];
}

export async function startRealNode(options: {
  prepared: PreparedNode;
  binaries: NodeBinaries;
  server: string;
  caPem: string;
  adminToken: string;
  nodeName: string;
  stateDir: string;
  /** Build raft-kv and raft-operator and load them into the node's containerd. */
  projectImages: boolean;
  onProcess: (process: RecordedProcess, child: SpawnedProcess) => Promise<void>;
  log: (line: string) => void;
}): Promise<StartedNode> {
  const { prepared: { paths, pki }, binaries, log } = options;
  const processes: RecordedProcess[] = [];
  const spawned: SpawnedProcess[] = [];
  const logs = `${options.stateDir}/logs`;
  await Deno.mkdir(logs, { recursive: true });
  const launch = async (name: string, program: string, args: string[], env?: Record<string, string>) => {
    const logFile = `${logs}/${name}.log`;
    const child = spawnLogged(program, { args, logFile, env });
    const process = { name, pid: child.pid, logFile };
    processes.push(process);
    spawned.push(child);
    await options.onProcess(process, child);
    log(`starting ${name} (pid ${child.pid}, log ${logFile})`);
    return { child, logFile };
  };

  // containerd, with CNI and the pause image as sandbox.
  const runc = (await capture(["sh", "-c", "command -v runc"])).trim();
  const cniBin = (await cniBinDir())!;
  for (
    const dir of [
      paths.cniConfDir,
      paths.cniIpamDir,
      paths.containerdRoot,
      paths.containerdState,
      paths.podLogsDir,
    ]
  ) {
    await Deno.mkdir(dir, { recursive: true });
  }
  await Deno.writeTextFile(`${paths.cniConfDir}/10-localkube.conflist`, cniConflist(paths));
  await Deno.writeTextFile(
    paths.containerdConfig,
    containerdToml(paths, { sandboxImage: PAUSE_IMAGE, runcPath: runc, cniBinDir: cniBin }),
  );
  const containerd = await launch("containerd", "containerd", ["--config", paths.containerdConfig]);
  await waitFor(
    "containerd",
    containerd,
    async () => {
      return await tryCapture(["ctr", "--address", paths.containerdSocket, "version"]) !== undefined;
    },
    60_000,
    log,
  );

  const engine = await ContainerEngine.find();
  const started = performance.now();
  await buildPauseImage(engine, binaries.pause);
  const images = [PAUSE_IMAGE];
  if (options.projectImages) {
    const built = await buildProjectImages({ engine, log });
    images.push(...built.map((b) => b.image));
  }
  await importIntoContainerd(engine, images, paths.containerdSocket);
  log(
    `images in the node's containerd after ${((performance.now() - started) / 1000).toFixed(1)} s: ${
      images.join(", ")
    }`,
  );

  // Cluster DNS and volumes.
  const servicesConfig: NodeServicesConfig = {
    access: { server: options.server, token: options.adminToken, caPem: options.caPem },
    stateDir: options.stateDir,
    dnsHost: NODE_IP,
    dnsPort: 53,
  };
  const servicesConfigPath = `${paths.dir}/services.json`;
  await Deno.writeTextFile(servicesConfigPath, JSON.stringify(servicesConfig), { mode: 0o600 });
  const services = await launch("node-services", Deno.execPath(), [
    "run",
    "--config",
    `${REPO_ROOT}/deno.json`,
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    `${REPO_ROOT}/src/localkube/node/services_main.ts`,
    servicesConfigPath,
  ], { NO_COLOR: "1" });
  await waitFor("node-services", services, () => exists(`${paths.dir}/services-ready.json`), 60_000, log);

  // kubelet.
  await Deno.writeTextFile(
    paths.kubeletKubeconfig,
    kubeconfigYaml({
      server: options.server,
      caPem: options.caPem,
      user: `system:node:${options.nodeName}`,
      clientCertificate: pki.kubeletClient.cert,
      clientKey: pki.kubeletClient.key,
    }),
    { mode: 0o600 },
  );
  await Deno.writeTextFile(
    paths.kubeletConfig,
    kubeletConfiguration(paths, {
      caCert: pki.caCert,
      servingCert: pki.kubeletServing.cert,
      servingKey: pki.kubeletServing.key,
    }),
  );
  const kubelet = await launch("kubelet", binaries.kubelet, [
    `--config=${paths.kubeletConfig}`,
    `--kubeconfig=${paths.kubeletKubeconfig}`,
    `--root-dir=${paths.kubeletRoot}`,
    `--cert-dir=${paths.pki}`,
    `--hostname-override=${options.nodeName}`,
    `--node-ip=${NODE_IP}`,
    "--v=1",
  ]);

  // kube-proxy.
  await Deno.writeTextFile(
    paths.kubeProxyKubeconfig,
    kubeconfigYaml({
      server: options.server,
      caPem: options.caPem,
      user: "system:kube-proxy",
      clientCertificate: pki.kubeProxyClient.cert,
      clientKey: pki.kubeProxyClient.key,
    }),
    { mode: 0o600 },
  );
  await Deno.writeTextFile(paths.kubeProxyConfig, kubeProxyConfiguration(paths, options.nodeName));
  const kubeProxy = await launch("kube-proxy", binaries.kubeProxy, [
    `--config=${paths.kubeProxyConfig}`,
    "--v=1",
  ]);

  const api = new KubeApi({ server: options.server, token: options.adminToken, caPem: options.caPem });
  try {
    await waitFor(
      "kubelet (node Ready)",
      kubelet,
      async () => {
        const node = await api.find<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(
          `/api/v1/nodes/${options.nodeName}`,
        ).catch(() => undefined);
        return node?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
      },
      120_000,
      log,
    );
    await waitFor(
      "kube-proxy",
      kubeProxy,
      async () => {
        const response = await fetch("http://127.0.0.1:10256/healthz", { signal: AbortSignal.timeout(2_000) })
          .catch(() => undefined);
        await response?.body?.cancel();
        return response?.ok ?? false;
      },
      60_000,
      log,
    );
  } finally {
    api.close();
  }
  return { processes, spawned, images };
}

async function waitFor(
  name: string,
  process: { child: SpawnedProcess; logFile: string },
  ready: () => Promise<boolean>,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<void> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (!await isAlive(process.child.pid)) {
      throw new Error(
        `${name} exited during start-up; last lines of ${process.logFile}:\n${await tail(process.logFile)}`,
      );
    }
    if (await ready()) {
      log(`${name} ready after ${((performance.now() - started) / 1000).toFixed(1)} s`);
      return;
    }
    await sleep(250);
  }
  throw new Error(
    `${name} not ready after ${timeoutMs / 1000} s; last lines of ${process.logFile}:\n${await tail(
      process.logFile,
    )}`,
  );
}

async function tail(path: string, lines = 25): Promise<string> {
  try {
    return (await Deno.readTextFile(path)).trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * Deletes every pod through the API and waits until the kubelet has stopped them (containers
 * killed, sandboxes' networks torn down, volumes unmounted): the clean way out. Controllers must
 * already be stopped, or they would make new pods.
 */
export async function drainPods(
  access: { server: string; token: string; caPem: string },
  log: (line: string) => void,
  timeoutMs = 60_000,
): Promise<void> {
  const api = new KubeApi(access);
  try {
    type PodList = { items: Array<{ metadata: { name: string; namespace: string } }> };
    const pods = await api.get<PodList>("/api/v1/pods");
    if (pods.items.length === 0) return;
    log(`deleting ${pods.items.length} pods; the kubelet stops their containers`);
    await Promise.all(
      pods.items.map((p) =>
        api.delete(`/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}`, {
          gracePeriodSeconds: 2,
        })
          .catch(() => {})
      ),
    );
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await api.get<PodList>("/api/v1/pods")).items.length === 0) return;
      await sleep(500);
    }
    log(`pods still present after ${timeoutMs / 1000} s; their containers are removed by force`);
  } catch (e) {
    log(
      `could not drain pods through the API (${(e as Error).message}); their containers are removed by force`,
    );
  } finally {
    api.close();
  }
}

/** Kills every task left in containerd's CRI namespace and deletes the network namespaces of its sandboxes. */
async function removeLeftoverContainers(address: string, log: (line: string) => void): Promise<void> {
  const ctr = (...args: string[]) =>
    tryCapture(["ctr", "--address", address, "--namespace", "k8s.io", ...args]);
  const containers = (await ctr("containers", "list", "--quiet"))?.split("\n").filter(Boolean) ?? [];
  if (containers.length === 0) return;
  const namespaces = new Set<string>();
  for (const id of containers) {
    const info = await ctr("containers", "info", id);
    for (const match of info?.matchAll(/"path":\s*"(\/var\/run\/netns\/[^"]+|\/run\/netns\/[^"]+)"/g) ?? []) {
      namespaces.add(match[1]);
    }
  }
  log(`removing ${containers.length} containers left in containerd`);
  for (const id of containers) {
    await ctr("tasks", "kill", "--all", "--signal", "SIGKILL", id);
  }
  await sleep(500);
  for (const id of containers) {
    await ctr("tasks", "delete", "--force", id);
    await ctr("containers", "delete", id);
  }
  for (const path of namespaces) {
    const name = path.split("/").pop()!;
    if (await exists(path)) await tryCapture(["ip", "netns", "delete", name]);
  }
}

/**
 * Stops the node's processes (kube-proxy, kubelet, services, containerd, and the shims of our
 * containerd found by its socket path), then cleans the host. Pods should be drained first.
 */
export async function stopRealNode(
  stateDir: string,
  node: RealNodeState,
  processes: RecordedProcess[],
  log: (line: string) => void,
): Promise<string[]> {
  const failures: string[] = [];
  const stop = async (name: string, graceMs: number) => {
    for (const p of processes.filter((p) => p.name === name)) {
      try {
        if (await isAlive(p.pid)) log(`stopping ${name} (pid ${p.pid})`);
        await stopProcess(p.pid, graceMs);
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
  };
  await stop("kube-proxy", 5_000);
  await stop("kubelet", 10_000);
  await stop("node-services", 5_000);
  const containerd = processes.find((p) => p.name === "containerd");
  if (containerd && await isAlive(containerd.pid)) {
    await removeLeftoverContainers(node.containerdAddress, log);
  }
  await stop("containerd", 10_000);
  // Shims outlive containerd by design; ours name our socket on their command line.
  for (const pid of await pidsWithArgument(node.containerdAddress)) {
    log(`stopping containerd shim (pid ${pid})`);
    await stopProcess(pid, 3_000).catch((e) => failures.push(e.message));
  }
  failures.push(...await cleanUpHost(stateDir, node, log));
  return failures;
}

/** Everything the node made outside its processes, by the names recorded in `node`; never throws. */
async function cleanUpHost(
  stateDir: string,
  node: RealNodeState,
  log: (line: string) => void,
): Promise<string[]> {
  try {
    return await cleanUpHostSteps(stateDir, node, log);
  } catch (e) {
    return [`host clean-up stopped early: ${(e as Error).message}`];
  }
}

async function cleanUpHostSteps(
  stateDir: string,
  node: RealNodeState,
  log: (line: string) => void,
): Promise<string[]> {
  const problems: string[] = [];
  const paths = nodePaths(stateDir);
  problems.push(...await unmountUnder(stateDir));
  for (const dir of await cgroupDirs(POD_CGROUP)) problems.push(...await removeCgroupTree(dir));
  // Chains named KUBE-* (kubelet, kube-proxy) or CNI-* (bridge masquerade, portmap) that are new.
  const before = new Set(node.chainsBefore);
  const created = [...await iptablesChains()].filter((c) => !before.has(c) && /\s(KUBE-|CNI-)/.test(c));
  if (created.length) {
    log(`removing ${created.length} iptables chains the node made`);
    problems.push(...await deleteChains(created));
  }
  if (node.bridge) {
    await deleteLink(node.bridge).catch((e) => problems.push(`bridge ${node.bridge}: ${e.message}`));
  }
  for (const [key, value] of Object.entries(node.sysctls)) {
    if (await readSysctl(key) !== value) await writeSysctl(key, value).catch((e) => problems.push(e.message));
  }
  for (const path of node.notMountedBefore) {
    if (await isMountPoint(path)) await tryCapture(["umount", path]);
  }
  for (const path of [...node.createdPaths].reverse()) {
    if (!await exists(path)) continue;
    if (await isMountPoint(path)) await tryCapture(["umount", path]);
    // Only what is left of our own making: a directory now holding other files is not removed.
    await Deno.remove(path, { recursive: path !== "/run/netns" })
      .catch((e) => problems.push(`${path}: ${e.message}`));
  }
  // In shared folders that existed before: only entries that are ours by name or link target.
  problems.push(
    ...await removeEntries("/var/log/containers", async (entry) => {
      const target = await Deno.readLink(`/var/log/containers/${entry}`).catch(() => "");
      return target.startsWith(paths.podLogsDir + "/");
    }),
  );
  problems.push(
    ...await removeEntries(
      "/var/lib/cni/results",
      (entry) => Promise.resolve(entry.startsWith(`${CNI_NETWORK}-`)),
    ),
  );
  const claim = await readClaim();
  if (claim?.stateDir === stateDir) await Deno.remove(MACHINE_CLAIM).catch(() => {});
  return problems;
}

async function removeEntries(dir: string, ours: (entry: string) => Promise<boolean>): Promise<string[]> {
  const problems: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (await ours(entry.name)) {
        await Deno.remove(`${dir}/${entry.name}`).catch((e) =>
          problems.push(`${dir}/${entry.name}: ${e.message}`)
        );
      }
    }
  } catch {
    // no such folder: nothing of ours in it
  }
  return problems;
}

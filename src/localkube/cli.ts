/**
 * `deno task localkube build|up|down|env|status [--node agent|kubelet|none] [--no-images]`: a local
 * Kubernetes cluster in the background.
 *   build   only build (or find) the binaries: a CI step before the tests (--node kubelet: also
 *           the kubelet, kube-proxy and pause)
 *   up      build what is missing, start the control plane and a node, print the KUBECONFIG.
 *           The node: --node, else LOCALKUBE_NODE, else a real kubelet node when this machine can
 *           run one (root, containerd, runc, CNI plugins, podman or docker), else the node agent.
 *           A real node gets raft-kv and raft-operator built and loaded (--no-images: not).
 *   env     print the shell lines that point kubectl at it: eval "$(deno task -q localkube env)"
 *   status  its processes and whether the apiserver answers
 *   down    stop every process by PID and remove the state dir
 * State (PIDs, logs, volumes) lives in <repo>/.localkube/.
 */
import { parseArgs } from "node:util";
import {
  cachedBinaries,
  cachedNodeBinaries,
  ensureBinaries,
  ensureNodeBinaries,
  goUnavailable,
} from "./build.ts";
import {
  ClusterState,
  NODE_KINDS,
  type NodeKind,
  REPO_ROOT,
  startCluster,
  stateFile,
  stopCluster,
} from "./cluster.ts";
import { KubeApi } from "./kube_api.ts";
import { realNodeUnavailable } from "./node/real_node.ts";
import { isAlive } from "./processes.ts";

const STATE_DIR = `${REPO_ROOT}/.localkube`;
const log = (line: string) => console.error(`[localkube] ${line}`);

async function readState(): Promise<ClusterState | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(stateFile(STATE_DIR))) as ClusterState;
  } catch {
    return undefined;
  }
}

function envLines(state: ClusterState): string {
  const binDir = state.kubectl.slice(0, state.kubectl.lastIndexOf("/"));
  return `export KUBECONFIG=${state.kubeconfigPath}\nexport PATH=${binDir}:$PATH  # kubectl ${binDir}/kubectl\n`;
}

/** One loud line when Go is missing and nothing is cached; true when the binaries can be had. */
async function buildable(node: NodeKind): Promise<boolean> {
  if (await cachedBinaries() && (node !== "kubelet" || await cachedNodeBinaries())) return true;
  const why = await goUnavailable();
  if (why) {
    console.error(`LOCALKUBE CANNOT BUILD THE ${node === "kubelet" ? "KUBELET" : "CONTROL PLANE"}: ${why}`);
  }
  return !why;
}

const USAGE = "usage: deno task localkube build|up|down|env|status [--node agent|kubelet|none] [--no-images]";

function parseOptions(args: string[]): { node?: NodeKind; images: boolean } {
  const { values } = parseArgs({
    args,
    options: { node: { type: "string" }, "no-images": { type: "boolean" } },
    strict: true,
    allowPositionals: false,
  });
  const node = values.node ?? Deno.env.get("LOCALKUBE_NODE") ?? undefined;
  if (node !== undefined && !(NODE_KINDS as readonly string[]).includes(node)) {
    throw new Error(`--node (or LOCALKUBE_NODE) must be one of ${NODE_KINDS.join(", ")}, not "${node}"`);
  }
  return { node: node as NodeKind | undefined, images: !values["no-images"] };
}

async function build(): Promise<number> {
  const node = options.node ?? "agent";
  if (!await buildable(node)) return 1;
  const binaries = await ensureBinaries(log);
  console.log(binaries.dir);
  if (node === "kubelet") console.log((await ensureNodeBinaries(log)).dir);
  return 0;
}

/** The node `up` starts: as asked, else a real one when this machine can run it. */
async function chooseNode(): Promise<NodeKind> {
  if (options.node) return options.node;
  const why = await realNodeUnavailable();
  if (!why) return "kubelet";
  log(`no real node here (${why}): pods run as local processes under the node agent`);
  return "agent";
}

async function up(): Promise<number> {
  const existing = await readState();
  if (existing) {
    const alive = await Promise.all(existing.processes.map((p) => isAlive(p.pid)));
    if (alive.every(Boolean)) {
      log(`already up (state in ${STATE_DIR}); KUBECONFIG=${existing.kubeconfigPath}`);
      console.log(envLines(existing));
      return 0;
    }
    log(`found a half-dead cluster in ${STATE_DIR}; stopping what is left of it first`);
    await down();
  }
  const node = await chooseNode();
  if (!await buildable(node)) return 1;
  const { state, spawned } = await startCluster({
    stateDir: STATE_DIR,
    node,
    projectImages: options.images,
    log,
  });
  // The processes outlive this command; `down` stops them by the PIDs in the state file.
  for (const process of spawned) process.unref();
  if (node === "kubelet") {
    log(`up with a real node (kubelet, containerd, runc). Logs: ${STATE_DIR}/logs/; pods: kubectl logs`);
    log(`images in the node: ${(state.images ?? []).join(", ")} (rebuild and reload: deno task images)`);
  } else {
    log(`up. Logs: ${STATE_DIR}/logs/ (pods: ${STATE_DIR}/logs/pods/)`);
  }
  log(
    `cluster DNS for pods: ${state.dnsAddress}; pod network ${state.podNetwork}. Stop with: deno task localkube down`,
  );
  console.log(`KUBECONFIG=${state.kubeconfigPath}`);
  console.log(envLines(state));
  return 0;
}

async function down(): Promise<number> {
  const state = await readState();
  if (!state) {
    log(`nothing to stop: no ${stateFile(STATE_DIR)}`);
    return 0;
  }
  await stopCluster(state, log);
  await Deno.remove(STATE_DIR, { recursive: true });
  if (state.node) log("the real node's pods, mounts, cgroups, iptables chains and bridge are gone");
  log("down: every process stopped, state removed");
  return 0;
}

async function status(): Promise<number> {
  const state = await readState();
  if (!state) {
    console.log("localkube is down");
    return 1;
  }
  for (const p of state.processes) {
    const running = await isAlive(p.pid);
    console.log(
      `${p.name.padEnd(24)} pid ${String(p.pid).padEnd(8)} ${running ? "running" : "DEAD"}  ${p.logFile}`,
    );
  }
  const caPem = await Deno.readTextFile(`${state.stateDir}/apiserver/ca.crt`);
  const api = new KubeApi({ server: state.server, token: state.token, caPem });
  try {
    const readyz = await fetch(`${state.server}/readyz`, {
      client: Deno.createHttpClient({ caCerts: [caPem], http2: false }),
      headers: { authorization: `Bearer ${state.token}` },
      signal: AbortSignal.timeout(3_000),
    });
    console.log(`apiserver ${state.server} /readyz: ${readyz.status} ${(await readyz.text()).trim()}`);
    const pods = await api.get<
      {
        items: Array<
          { metadata: { namespace: string; name: string }; status?: { phase?: string; podIP?: string } }
        >;
      }
    >(
      "/api/v1/pods",
    );
    console.log(`pods: ${pods.items.length}`);
    for (const pod of pods.items) {
      console.log(
        `  ${pod.metadata.namespace}/${pod.metadata.name} ${pod.status?.phase ?? "?"} ${
          pod.status?.podIP ?? ""
        }`,
      );
    }
  } catch (e) {
    console.log(`apiserver ${state.server} does not answer: ${(e as Error).message}`);
    return 1;
  } finally {
    api.close();
  }
  console.log(envLines(state));
  return 0;
}

async function env(): Promise<number> {
  const state = await readState();
  if (!state) {
    console.error("localkube is down: run `deno task localkube up` first");
    return 1;
  }
  console.log(envLines(state));
  return 0;
}

const commands: Record<string, () => Promise<number>> = { build, up, down, env, status };
const command = commands[Deno.args[0]];
if (!command) {
  console.error(USAGE);
  Deno.exit(2);
}
let options: ReturnType<typeof parseOptions>;
try {
  options = parseOptions(Deno.args.slice(1));
} catch (e) {
  console.error(`localkube: ${(e as Error).message}\n${USAGE}`);
  Deno.exit(2);
}
try {
  Deno.exit(await command());
} catch (e) {
  console.error(`localkube ${Deno.args[0]} failed: ${(e as Error).message}`);
  Deno.exit(1);
}

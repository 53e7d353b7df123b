/**
 * `deno task localkube build|up|down|env|status`: a local Kubernetes cluster in the background.
 *   build   only build (or find) the control plane binaries: a CI step before the tests
 *   up      build the control plane if needed, start it plus the node agent, print the KUBECONFIG
 *   env     print the shell lines that point kubectl at it: eval "$(deno task -q localkube env)"
 *   status  its processes and whether the apiserver answers
 *   down    stop every process by PID and remove the state dir
 * State (PIDs, logs, volumes) lives in <repo>/.localkube/.
 */
import { cachedBinaries, ensureBinaries, goUnavailable } from "./build.ts";
import { ClusterState, REPO_ROOT, startCluster, stateFile, stopCluster } from "./cluster.ts";
import { KubeApi } from "./kube_api.ts";
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
async function buildable(): Promise<boolean> {
  if (await cachedBinaries()) return true;
  const why = await goUnavailable();
  if (why) console.error(`LOCALKUBE CANNOT BUILD THE CONTROL PLANE: ${why}`);
  return !why;
}

async function build(): Promise<number> {
  if (!await buildable()) return 1;
  const binaries = await ensureBinaries(log);
  console.log(binaries.dir);
  return 0;
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
  if (!await buildable()) return 1;
  const { state, spawned } = await startCluster({ stateDir: STATE_DIR, nodeAgent: true, log });
  // The processes outlive this command; `down` stops them by the PIDs in the state file.
  for (const process of spawned) process.unref();
  log(`up. Logs: ${STATE_DIR}/logs/ (pods: ${STATE_DIR}/logs/pods/). Stop with: deno task localkube down`);
  log(`cluster DNS for pods: ${state.dnsAddress}; pod network ${state.podNetwork}`);
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
  console.error("usage: deno task localkube build|up|down|env|status");
  Deno.exit(2);
}
Deno.exit(await command());

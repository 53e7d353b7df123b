/**
 * Helpers of the end-to-end tests: kubectl, the operator as a child process (so it can be SIGKILLed),
 * the leader of a RaftCluster as its pods report it, and a background writer that remembers every
 * write the cluster acknowledged.
 */
import { KvClient } from "../../client/mod.ts";
import { KubeConfigH1 } from "../framework/mod.ts";
import type { ClusterApi } from "./cluster_api.ts";
import { buildView, fetchReport, type NodeReport } from "./cluster_view.ts";
import { type ClusterRef, labelSelector, podUrl } from "./names.ts";
import { spawnLogged } from "../framework/testing/logged_process.ts";
import type { ReaperWatch } from "./e2e_reaper.ts";
import { kubectl, type LocalKube, localKubeUnavailable, startLocalKube } from "../../localkube/testing.ts";

export { kubectl };

const MAIN = new URL("./main.ts", import.meta.url).pathname;

/** `deno task operator`'s command line, output to a log file. */
export class OperatorProcess {
  readonly #child: Deno.ChildProcess;
  readonly #done: Promise<Deno.CommandStatus>;

  private constructor(child: Deno.ChildProcess, done: Promise<Deno.CommandStatus>, readonly logPath: string) {
    this.#child = child;
    this.#done = done;
  }

  static async start(logPath: string, args: string[]): Promise<OperatorProcess> {
    const permissions = ["--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-sys"];
    const { child, exited } = await spawnLogged(["run", ...permissions, MAIN, ...args], logPath);
    return new OperatorProcess(child, exited, logPath);
  }

  get pid(): number {
    return this.#child.pid;
  }

  /** Sends the signal (if it still runs) and waits for the process and its log to end. */
  async stop(signal: "SIGKILL" | "SIGTERM"): Promise<Deno.CommandStatus> {
    try {
      this.#child.kill(signal);
    } catch {
      // already exited
    }
    return await this.#done;
  }

  /**
   * Stops it whatever state it is in: resumed first (a test may have SIGSTOPped it, and a stopped
   * process never handles SIGTERM), SIGTERM, and SIGKILL if it has not exited after `graceMs`.
   */
  async terminate(graceMs = 10_000): Promise<Deno.CommandStatus> {
    try {
      Deno.kill(this.pid, "SIGCONT");
    } catch {
      // already exited
    }
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // already exited
    }
    return await this.exited(graceMs) ?? await this.stop("SIGKILL");
  }

  /** Waits for the process to exit by itself (undefined if it still runs after timeoutMs). */
  async exited(timeoutMs: number): Promise<Deno.CommandStatus | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<undefined>((resolve) =>
      timer = setTimeout(() => resolve(undefined), timeoutMs)
    );
    try {
      return await Promise.race([this.#done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async log(): Promise<string> {
    return await Deno.readTextFile(this.logPath).catch(() => "");
  }
}

export interface NodeAtPod {
  slot: number;
  url: string;
  report: NodeReport;
}

/** Every node of the cluster that answers, by slot, as the operator itself sees them. */
export async function nodesOf(api: ClusterApi, ref: ClusterRef): Promise<NodeAtPod[]> {
  const pods = await api.listPods(ref.namespace, labelSelector(ref));
  const reports = new Map<string, NodeReport>();
  await Promise.all(pods.map(async (pod) => {
    const report = pod.ip ? await fetchReport(podUrl(pod.ip)) : undefined;
    if (report) reports.set(pod.name, report);
  }));
  const view = buildView(ref, { pods, claims: [], reports, replicas: pods.length });
  return [...view.slots.values()].filter((s) => s.url && s.report).map((s) => ({
    slot: s.slot,
    url: s.url!,
    report: s.report!,
  }));
}

export async function leaderOf(api: ClusterApi, ref: ClusterRef): Promise<NodeAtPod | undefined> {
  const nodes = await nodesOf(api, ref);
  return nodes.filter((n) => n.report.role === "leader").sort((a, b) =>
    (b.report.term ?? 0) - (a.report.term ?? 0)
  )[0];
}

/**
 * Writes key w<i> = v<i> in a loop to the leader's pod (a follower cannot forward to the leader's DNS
 * name under localkube), and remembers the writes the cluster acknowledged. A failed write is not
 * acknowledged and not checked; the writer finds the leader again and goes on.
 */
export class BackgroundWriter {
  readonly acknowledged = new Map<string, string>();
  failures = 0;
  #stopped = false;
  readonly #loop: Promise<void>;
  readonly #client = new KvClient({
    endpoints: ["http://127.0.0.1:1"], // every call names its node
    retry: { operationTimeoutMs: 3_000, requestTimeoutMs: 2_000 },
  });

  constructor(private readonly api: ClusterApi, private readonly ref: ClusterRef) {
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    let leader: string | undefined;
    for (let i = 0; !this.#stopped;) {
      leader ??= (await leaderOf(this.api, this.ref).catch(() => undefined))?.url;
      if (!leader) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const key = `w${i}`, value = `v${i}`;
      try {
        await this.#client.put(key, value, { node: leader });
        this.acknowledged.set(key, value);
      } catch {
        this.failures++;
        leader = undefined;
      }
      i++;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
    await this.#client.close();
  }
}

/** What a test started, stopped in reverse order (each by its PID, through its own stop()). */
export class Teardown {
  readonly #steps: { what: string; stop: () => Promise<unknown> }[] = [];
  readonly #watch: ReaperWatch = { pids: [], localkube: [] };

  /** `watchFile`: where the watchdog (e2e_reaper.ts) reads what to stop if this process dies first. */
  constructor(private readonly watchFile?: string) {}

  /**
   * `watch`: the same things for the watchdog, which stops them if this process dies before its
   * teardown runs (a process by PID; a localkube cluster by its state directory).
   */
  add(what: string, stop: () => Promise<unknown>, watch: { pid?: number; localkube?: string } = {}): void {
    this.#steps.push({ what, stop });
    if (watch.pid) this.#watch.pids.push(watch.pid);
    if (watch.localkube) this.#watch.localkube.push(watch.localkube);
    if (this.watchFile && (watch.pid || watch.localkube)) {
      Deno.writeTextFileSync(this.watchFile, JSON.stringify(this.#watch));
    }
  }

  /** Runs every step once, newest first, even when one fails; throws the failures together. */
  async run(): Promise<void> {
    const failures: string[] = [];
    for (const { what, stop } of this.#steps.splice(0).reverse()) {
      try {
        await stop();
      } catch (e) {
        failures.push(`${what}: ${(e as Error).message}`);
      }
    }
    if (failures.length) throw new Error(`teardown failed:\n${failures.join("\n")}`);
  }
}

const REAPER = new URL("./e2e_reaper.ts", import.meta.url).pathname;

/** Starts the watchdog over this test process; resolves to its stop (SIGTERM, by PID). */
function startReaper(watchFile: string): () => Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", REAPER, String(Deno.pid), watchFile],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  return async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
  };
}

/**
 * Runs an end-to-end test body so that every way it can end stops what it started (what the body
 * adds to the Teardown): after the body returns or throws, and on SIGTERM (then the process exits
 * 130). A promise rejected with no handler during the body (a background loop that threw) would end
 * the whole test module at once, skipping the teardown and leaving a cluster running: it is caught
 * here and fails the test after the teardown instead. Where no code of this process can run any more
 * (SIGKILL; `deno test` exits on SIGINT by itself, reporting the pending tests), the watchdog process
 * (e2e_reaper.ts) stops what the Teardown was told to watch.
 */
export async function withTeardown(body: (teardown: Teardown) => Promise<void>): Promise<void> {
  const watchFile = await Deno.makeTempFile({ prefix: "e2e-reaper-", suffix: ".json" });
  const stopReaper = startReaper(watchFile);
  const teardown = new Teardown(watchFile);
  const stray: unknown[] = [];
  const onRejection = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    stray.push(event.reason);
    console.error(`e2e: unhandled rejection (the test fails after its teardown): ${event.reason}`);
  };
  let tornDown: Promise<void> | undefined;
  const teardownOnce = () => tornDown ??= teardown.run();
  const onSignal = () => {
    console.error("e2e: interrupted; stopping what the test started");
    teardownOnce().finally(() => Deno.exit(130));
  };
  addEventListener("unhandledrejection", onRejection);
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let bodyError: { error: unknown } | undefined;
  try {
    await body(teardown);
  } catch (error) {
    bodyError = { error };
  }
  let teardownError: { error: unknown } | undefined;
  try {
    await teardownOnce();
  } catch (error) {
    teardownError = { error };
  }
  removeEventListener("unhandledrejection", onRejection);
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
  await stopReaper();
  await Deno.remove(watchFile).catch(() => {});
  if (bodyError) {
    // The body's own error says more; a teardown failure is then only reported.
    if (teardownError) console.error(`e2e: ${(teardownError.error as Error).message}`);
    throw bodyError.error;
  }
  if (teardownError) throw teardownError.error;
  if (stray.length) {
    throw new AggregateError(
      stray,
      `unhandled rejection(s) during the test: ${stray.map(String).join("; ")}`,
    );
  }
}

const CRD = new URL("../../../crds/raftcluster.yaml", import.meta.url).pathname;

/** Installs the RaftCluster CRD, waits until the API server serves it, and creates `namespace`. */
export async function installCrd(kube: LocalKube, namespace: string): Promise<void> {
  await kubectl(kube.kubectl, kube.kubeconfigPath, ["apply", "-f", CRD]);
  await kubectl(kube.kubectl, kube.kubeconfigPath, [
    "wait",
    "--for=condition=Established",
    "crd/raftclusters.storage.sys",
    "--timeout=30s",
  ]);
  await kubectl(kube.kubectl, kube.kubeconfigPath, ["create", "namespace", namespace]);
}

/**
 * The frame of every operator e2e test: skipped (with the reason) where localkube cannot run, else a
 * localkube cluster started under a Teardown (stopped last, whatever happens) and a scratch directory.
 */
export async function withLocalKube(
  prefix: string,
  body: (
    env: { kube: LocalKube; kubeConfig: KubeConfigH1; teardown: Teardown; dir: string },
  ) => Promise<void>,
  options: {
    /**
     * The test's clusters name localhost:5000/raft-kv:{latest,v2} (as the seed YAML does): on the real node,
     * tag the image loaded into its containerd under those names (tagSeedImages). The process agent needs none.
     */
    seedImages?: boolean;
  } = {},
): Promise<void> {
  const why = await localKubeUnavailable();
  if (why) {
    console.warn(`SKIPPED e2e: ${why}`);
    return;
  }
  await withTeardown(async (teardown) => {
    const kube = await startLocalKube();
    teardown.add("localkube", () => kube.stop(), { localkube: kube.stateDir });
    const dir = await Deno.makeTempDir({ prefix });
    teardown.add("the test's directory", () => Deno.remove(dir, { recursive: true }));
    if (options.seedImages && kube.nodeKind === "kubelet") await tagSeedImages(kube);
    const kubeConfig = new KubeConfigH1();
    kubeConfig.loadFromFile(kube.kubeconfigPath);
    teardown.add("API connections", () => kubeConfig.closeConnections());
    await body({ kube, kubeConfig, teardown, dir });
  });
}

/**
 * A t.step that ends the test when it fails: the later steps build on what this one set up, and
 * running them anyway only adds confusing failures (and background work on a broken cluster).
 */
export function stepper(t: Deno.TestContext) {
  return async (name: string, fn: (t: Deno.TestContext) => Promise<void>): Promise<void> => {
    if (!await t.step(name, fn)) throw new Error(`step failed: ${name} (the later steps are skipped)`);
  };
}

/**
 * `kubectl port-forward pod/<pod> :<port>...`: resolves to the local ports kubectl picked, in the
 * order of `ports`, once it forwards them; the forward runs until `stop()` (killed by PID).
 */
export async function portForward(
  binary: string,
  kubeconfig: string,
  namespace: string,
  pod: string,
  ports: number[],
): Promise<{ local: number[]; stop: () => Promise<void> }> {
  const child = new Deno.Command(binary, {
    args: [
      "--kubeconfig",
      kubeconfig,
      "-n",
      namespace,
      "port-forward",
      `pod/${pod}`,
      ...ports.map((p) => `:${p}`),
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already exited
    }
    await child.status;
  };
  const stderr = new Response(child.stderr).text();
  const found = new Map<number, number>();
  let seen = "";
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const deadline = Date.now() + 20_000;
  try {
    while (found.size < ports.length) {
      if (Date.now() > deadline) throw new Error(`kubectl port-forward: no forwarding within 20 s:\n${seen}`);
      const { value, done } = await reader.read();
      if (done) throw new Error(`kubectl port-forward exited: ${seen}${await stderr}`);
      seen += value;
      // "Forwarding from 127.0.0.1:41234 -> 8080"
      for (const m of seen.matchAll(/Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)/g)) {
        found.set(Number(m[2]), Number(m[1]));
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
  // Keep draining its output so that kubectl never blocks on a full pipe.
  (async () => {
    while (!(await reader.read().catch(() => ({ done: true }))).done) { /* drain */ }
  })();
  return { local: ports.map((p) => found.get(p)!), stop };
}

/**
 * The seed YAML names `localhost:5000/raft-kv:latest` (a user's local registry) and the upgrade step a
 * second tag, `:v2`. On the real node, both are tags of the raft-kv image built and loaded into its
 * containerd, so the kubelet finds them without a registry (imagePullPolicy IfNotPresent).
 */
export async function tagSeedImages(kube: { stateDir: string; images: string[] }): Promise<void> {
  const built = kube.images.find((image) => /(^|\/)raft-kv:latest$/.test(image));
  if (!built) throw new Error(`the real node has no raft-kv image (it has ${kube.images.join(", ")})`);
  const source = built.includes("/") ? built : `docker.io/library/${built}`;
  for (const tag of ["latest", "v2"]) {
    const out = await new Deno.Command("ctr", {
      args: [
        "--address",
        `${kube.stateDir}/node/containerd/containerd.sock`,
        "--namespace",
        "k8s.io",
        "images",
        "tag",
        "--force",
        source,
        `localhost:5000/raft-kv:${tag}`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`ctr images tag: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/**
 * What a failed e2e step needs for a post-mortem, gathered best-effort (each part says why it is
 * missing): the RaftCluster's status, its objects with their uids and owners (a recreated cluster
 * must own none of the old ones), recent Events, each pod's /status, and each pod's log tail. The
 * operator's log alone showed only its own repeated action when the pods' side was the question.
 */
export async function clusterPostMortem(
  kube: Pick<LocalKube, "kubectl" | "kubeconfigPath">,
  ref: Pick<ClusterRef, "namespace" | "name">,
  podLogLines = 30,
): Promise<string> {
  const run = (args: string[]) =>
    kubectl(kube.kubectl, kube.kubeconfigPath, ["-n", ref.namespace, ...args]).catch((e) =>
      `(${(e as Error).message})`
    );
  const selector = labelSelector({ ...ref, uid: "" });
  const parts: string[] = [];
  parts.push(
    `RaftCluster ${ref.namespace}/${ref.name}: uid ${await run([
      "get",
      "raftcluster",
      ref.name,
      "-o",
      "jsonpath={.metadata.uid}",
    ])}, status ${await run(["get", "raftcluster", ref.name, "-o", "jsonpath={.status}"])}`,
  );
  parts.push(
    "objects (uid, controller uid, created, deleting):\n" + await run([
      "get",
      "statefulsets,pods,persistentvolumeclaims,secrets,services",
      "-l",
      selector,
      "-o",
      "custom-columns=KIND:.kind,NAME:.metadata.name,UID:.metadata.uid,OWNER:.metadata.ownerReferences[0].uid," +
      "CREATED:.metadata.creationTimestamp,DELETING:.metadata.deletionTimestamp,PHASE:.status.phase,IP:.status.podIP," +
      "RESTARTS:.status.containerStatuses[0].restartCount",
    ]),
  );
  const events = (await run(["get", "events", "--sort-by=.lastTimestamp"])).split("\n");
  parts.push(`events (last 40 of ${events.length}):\n${events.slice(-40).join("\n")}`);
  const pods = (await run([
    "get",
    "pods",
    "-l",
    selector,
    "-o",
    'jsonpath={range .items[*]}{.metadata.name} {.status.podIP}{"\\n"}{end}',
  ]))
    .split("\n").filter((l) => l.trim() && !l.startsWith("("));
  for (const line of pods) {
    const [pod, ip] = line.split(" ");
    const report = ip
      ? await fetch(`${podUrl(ip)}/status`, { signal: AbortSignal.timeout(2_000) })
        .then((r) => r.text())
        .catch((e) => `(no answer: ${(e as Error).message})`)
      : "(no pod IP)";
    parts.push(`pod ${pod} at ${ip || "-"}: /status ${report}`);
    parts.push(
      `pod ${pod} log (last ${podLogLines} lines):\n${await run(["logs", pod, `--tail=${podLogLines}`])}`,
    );
  }
  return parts.join("\n");
}

/**
 * The pids of a pod's processes on this machine (the real node's containers and the process
 * agent's pods both run as processes here), found by the POD_NAME and POD_NAMESPACE environment
 * the RaftCluster's pod template gives them.
 */
export function podProcesses(namespace: string, pod: string): number[] {
  const wanted = [`POD_NAME=${pod}`, `POD_NAMESPACE=${namespace}`];
  // `ps e` appends each process's environment to its command line. (Reading /proc/<pid>/environ
  // directly needs Deno's --allow-all, which the test task does not grant.)
  const out = new Deno.Command("ps", { args: ["-e", "-ww", "-o", "pid=,args=", "e"], stdout: "piped" })
    .outputSync();
  if (!out.success) throw new Error(`ps -e -o pid=,args= e failed (exit ${out.code})`);
  const pids: number[] = [];
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const [pid, ...words] = line.trim().split(/\s+/);
    if (/^\d+$/.test(pid) && wanted.every((w) => words.includes(w))) pids.push(Number(pid));
  }
  return pids;
}

/**
 * `deno task deploy [--kubeconfig PATH] [--namespace NS] [--dry-run] [--timeout SECONDS]`: installs
 * the RaftCluster CRD and the operator (namespace, RBAC, Deployment) into the cluster of the current
 * KUBECONFIG with server-side apply, creates the demo RaftCluster, waits until it is Ready and prints
 * how to use it. Against localkube:
 *
 *   deno task localkube up && eval "$(deno task -q localkube env)" && deno task deploy
 */
import { parseArgs } from "node:util";
import * as k8s from "@kubernetes/client-node";
import {
  describeApiError,
  findCondition,
  KubeConfigH1,
  type KubeObject,
} from "../src/operator/framework/mod.ts";
import { ClusterApi } from "../src/operator/raftcluster/cluster_api.ts";
import { labelSelector } from "../src/operator/raftcluster/names.ts";
import type { RaftClusterStatus } from "../src/operator/raftcluster/types.ts";
import {
  crdFiles,
  DEFAULT_NAMESPACE,
  DEMO_FILE,
  describe,
  inNamespace,
  INSTALL_FILES,
  isNamespaceName,
  type Manifest,
  readManifests,
} from "./manifests.ts";

const USAGE = `usage: deno task deploy [--kubeconfig PATH] [--namespace NS] [--dry-run] [--timeout SECONDS]
  --kubeconfig PATH   the cluster (default: KUBECONFIG, else ~/.kube/config)
  --namespace NS      where the operator and the demo RaftCluster go (default ${DEFAULT_NAMESPACE})
  --dry-run           print what would be applied, and where; contact nothing, change nothing
  --timeout SECONDS   how long to wait for the demo to be Ready (default 300)`;
const FIELD_MANAGER = "raft-kv-deploy";

function fail(message: string, code = 2): never {
  console.error(`deploy: ${message}`);
  Deno.exit(code);
}

let values;
try {
  values = parseArgs({
    args: Deno.args,
    options: {
      kubeconfig: { type: "string" },
      namespace: { type: "string" },
      "dry-run": { type: "boolean" },
      timeout: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  }).values;
} catch (error) {
  fail(`${(error as Error).message}\n${USAGE}`);
}
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const namespace = values.namespace ?? DEFAULT_NAMESPACE;
if (!isNamespaceName(namespace)) {
  fail(`--namespace "${namespace}" is not a valid namespace name (RFC 1123 label)`);
}
const timeoutSeconds = Number(values.timeout ?? "300");
if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
  fail(`--timeout must be a positive number of seconds`);
}
const dryRun = values["dry-run"] === true;

const kubeConfig = new KubeConfigH1();
try {
  if (values.kubeconfig) kubeConfig.loadFromFile(values.kubeconfig);
  else kubeConfig.loadFromDefault();
} catch (error) {
  fail(`cannot read the kubeconfig: ${(error as Error).message}`);
}
const server = kubeConfig.getCurrentCluster()?.server;
if (!server) {
  fail(
    "no cluster in the kubeconfig: pass --kubeconfig, or set KUBECONFIG " +
      `(for localkube: eval "$(deno task -q localkube env)")`,
  );
}

const crds = (await readManifests(await crdFiles())).map((m) => inNamespace(m, namespace));
const install = (await readManifests(INSTALL_FILES)).map((m) => inNamespace(m, namespace));
const demo = (await readManifests([DEMO_FILE])).map((m) => inNamespace(m, namespace));
const objects = k8s.KubernetesObjectApi.makeApiClient(kubeConfig);

async function apply(manifest: Manifest): Promise<void> {
  try {
    await objects.patch(
      manifest.object,
      undefined,
      undefined,
      FIELD_MANAGER,
      true,
      k8s.PatchStrategy.ServerSideApply,
    );
  } catch (error) {
    fail(`applying ${describe(manifest.object)} (${manifest.file}) failed: ${describeApiError(error)}`, 1);
  }
  console.log(`applied ${describe(manifest.object)}  (${manifest.file})`);
}

async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

if (dryRun) {
  console.log(`dry run: would deploy to ${server} (namespace ${namespace}), in this order:`);
  for (const manifest of [...crds, ...install, ...demo]) {
    console.log(`  ${describe(manifest.object)}  (${manifest.file})`);
  }
  console.log("then wait for the demo RaftCluster to be Ready. Nothing was changed.");
  Deno.exit(0);
}
console.log(`deploying to ${server} (namespace ${namespace})`);
try {
  await kubeConfig.makeApiClient(k8s.VersionApi).getCode();
} catch (error) {
  fail(
    `cannot reach the cluster at ${server}: ${describeApiError(error)}. ` +
      `Is it running? (localkube: deno task localkube up)`,
    1,
  );
}

const extensions = kubeConfig.makeApiClient(k8s.ApiextensionsV1Api);
for (const crd of crds) {
  await apply(crd);
  await waitUntil(`CRD ${crd.object.metadata?.name} to be established`, async () => {
    const current = await extensions.readCustomResourceDefinition({ name: crd.object.metadata!.name! });
    return current.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ||
      undefined;
  }, 60_000);
}
for (const manifest of [...install, ...demo]) await apply(manifest);

const api = new ClusterApi(kubeConfig);
const name = demo[0].object.metadata!.name!;
console.log(`waiting for RaftCluster ${name} to be Ready (the operator pulls, elects a leader, grows it)...`);
let lastLine = "";
let ready: KubeObject;
try {
  ready = await waitUntil(`RaftCluster ${name} to be Ready`, async () => {
    const body = await api.getCluster(namespace, name);
    if (!body) return undefined;
    const status = (body.status ?? {}) as RaftClusterStatus;
    const line = status.phase
      ? `  ${status.phase} (${status.step}): ${status.planner?.message ?? ""}`
      : "  (no status yet)";
    if (line !== lastLine) console.log(lastLine = line);
    const condition = findCondition(status.conditions, "Ready");
    return condition?.status === "True" && condition.observedGeneration === body.metadata.generation
      ? body
      : undefined;
  }, timeoutSeconds * 1000);
} catch (error) {
  console.error(`deploy: ${(error as Error).message}`);
  await explainOperatorPods();
  Deno.exit(1);
}

const status = ready.status as RaftClusterStatus;
const pods = await api.listPods(namespace, labelSelector({ name, namespace, uid: ready.metadata.uid }));
const endpoints = pods.filter((p) => p.ip).map((p) => `http://${p.ip}:8080`);
const loopback = pods.every((p) => p.ip?.startsWith("127."));
console.log(`
RaftCluster ${namespace}/${name} is Ready: ${status.voters?.length} voters, leader ${status.leader}.

  kubectl -n ${namespace} get raftclusters                 # replicas, ready, voters, leader, phase, step
  kubectl -n ${namespace} scale raftcluster ${name} --replicas=5
  kubectl -n ${namespace} get raftcluster ${name} -o jsonpath='{.status.history}'   # the changes made
  kubectl -n ${namespace} logs -l app=raft-operator        # the operator's replicas
  kubectl -n ${namespace} get events --field-selector involvedObject.name=${name}
`);
if (loopback) {
  console.log(`Pods listen on loopback addresses reachable from this machine (localkube):
  deno task kv --endpoints ${endpoints.join(",")} put greeting hello
  deno task kv --endpoints ${endpoints.join(",")} get greeting
`);
} else {
  console.log(`From this machine, through the client Service:
  kubectl -n ${namespace} port-forward svc/${name} 8080:8080 &
  deno task kv --endpoints http://127.0.0.1:8080 put greeting hello
`);
}
await kubeConfig.closeConnections();

/** Why the operator does not act, as its pods tell: most often an image that is not there. */
async function explainOperatorPods(): Promise<void> {
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const list = await core.listNamespacedPod({
    namespace,
    labelSelector: "app.kubernetes.io/name=raft-operator",
  })
    .catch(() => undefined);
  if (!list?.items.length) {
    console.error(
      `no operator pod in ${namespace}: kubectl -n ${namespace} describe deployment raft-operator`,
    );
    return;
  }
  for (const pod of list.items) {
    const waiting = pod.status?.containerStatuses?.[0]?.state?.waiting;
    const why = waiting ? `${waiting.reason}: ${waiting.message ?? ""}` : pod.status?.phase ?? "unknown";
    console.error(`operator pod ${pod.metadata?.name}: ${why}`);
  }
  console.error(
    `If the image is missing: docker build -f Dockerfile.operator -t raft-operator:latest . (and -f ` +
      `Dockerfile.server -t raft-kv:latest), then load or push them where the cluster pulls from. ` +
      `Logs: kubectl -n ${namespace} logs deployment/raft-operator`,
  );
}

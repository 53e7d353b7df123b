/**
 * `deno task ui --kube NAME`: a RaftCluster seen through the Kubernetes API (the current
 * kubeconfig, or KUBECONFIG): its pods, the operator's status (planner step, history, members)
 * and the Events about the cluster and its pods. The members' own /status and /trace are read at
 * their pod IPs, which a machine outside the cluster's network may not reach: the page then shows
 * the pods and the operator's word only.
 */
import * as k8s from "@kubernetes/client-node";
import { KubeConfigH1 } from "../operator/framework/mod.ts";
import { podUrl } from "../operator/raftcluster/names.ts";
import type { ClusterSource } from "./live_feed.ts";
import type { ClusterSnapshot, KubeSnapshot } from "./view_types.ts";
import {
  plannerStateOf,
  type RaftClusterStatus,
  type ReconfigProgress,
  type ReconfigRecord,
} from "../operator/raftcluster/types.ts";
import { plannerView } from "./local_source.ts";
import type { PlannerHistory } from "./planner_history.ts";

const GROUP = "storage.sys", VERSION = "v1", PLURAL = "raftclusters";

interface RaftClusterObject {
  metadata?: { name?: string };
  spec?: Record<string, unknown>;
  status?: RaftClusterStatus & Record<string, unknown>;
}

function describeError(e: unknown): string {
  const code = (e as { code?: number }).code;
  const body = (e as { body?: unknown }).body;
  const message = typeof body === "string" ? body : (e as Error).message;
  return code ? `the API server answered ${code}: ${message.slice(0, 300)}` : message;
}

export class KubeClusterSource implements ClusterSource {
  readonly kind = "kube";
  readonly #config: KubeConfigH1;
  readonly #core: k8s.CoreV1Api;
  readonly #custom: k8s.CustomObjectsApi;

  constructor(readonly name: string, readonly namespace: string, config?: KubeConfigH1) {
    if (!config) {
      config = new KubeConfigH1();
      config.loadFromDefault();
    }
    this.#config = config;
    this.#core = config.makeApiClient(k8s.CoreV1Api);
    this.#custom = config.makeApiClient(k8s.CustomObjectsApi);
  }

  async kube(): Promise<KubeSnapshot & { object?: RaftClusterObject }> {
    const base = { name: this.name, namespace: this.namespace, pods: [], events: [] };
    let object: RaftClusterObject;
    try {
      object = await this.#custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: this.namespace,
        plural: PLURAL,
        name: this.name,
      }) as RaftClusterObject;
    } catch (e) {
      const notFound = (e as { code?: number }).code === 404;
      return {
        ...base,
        found: false,
        error: notFound
          ? `no RaftCluster "${this.name}" in namespace "${this.namespace}" (kubectl get raftclusters -A)`
          : `cannot read RaftCluster ${this.namespace}/${this.name}: ${describeError(e)}`,
      };
    }
    const [pods, events] = await Promise.all([
      this.#core.listNamespacedPod({
        namespace: this.namespace,
        labelSelector: `app.kubernetes.io/instance=${this.name}`,
      }),
      this.#core.listNamespacedEvent({ namespace: this.namespace }),
    ]);
    const podNames = new Set(pods.items.map((p) => p.metadata?.name));
    return {
      ...base,
      found: true,
      object,
      spec: object.spec,
      status: object.status,
      pods: pods.items.map((p) => ({
        name: p.metadata?.name ?? "?",
        phase: p.status?.phase,
        ready: p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
        podIP: p.status?.podIP,
        restarts: (p.status?.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0),
        startedAt: p.status?.startTime?.toISOString(),
        deleting: p.metadata?.deletionTimestamp !== undefined,
      })).sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true })),
      events: events.items
        .filter((e) => e.involvedObject.name === this.name || podNames.has(e.involvedObject.name))
        .map((e) => ({
          type: e.type,
          reason: e.reason,
          message: e.message,
          object: `${e.involvedObject.kind}/${e.involvedObject.name}`,
          count: e.count,
          last: (e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp)?.toISOString?.() ??
            String(e.lastTimestamp ?? ""),
        }))
        .sort((a, b) => (a.last ?? "").localeCompare(b.last ?? ""))
        .slice(-50),
    };
  }

  async describe(): Promise<Omit<ClusterSnapshot, "at" | "source" | "leader" | "leaders">> {
    const kube = await this.kube();
    if (!kube.found) return { faultInjection: false, members: [], error: kube.error };
    const status = kube.object?.status ?? {};
    const ids = new Map((status.members ?? []).map((m) => [m.pod, m]));
    const r = plannerStateOf(status);
    const planner = r && plannerView(r, {
      desiredReplicas: Number(kube.spec?.replicas ?? 0),
      settled: r.phase === "Idle",
      supervisorUp: true,
    });
    return {
      clusterId: `${this.namespace}/${this.name}`,
      safetyMode: String(kube.spec?.safetyMode ?? "safe"),
      faultInjection: false,
      members: kube.pods.filter((p) => p.podIP).map((p) => ({
        id: ids.get(p.name)?.id ?? 0,
        slot: ids.get(p.name)?.slot,
        name: p.name,
        clientUrl: podUrl(p.podIP!),
        process: p.deleting ? "terminating" : p.phase,
        restarts: p.restarts,
      })),
      planner,
      history: historyOf(status.history ?? [], status.reconfig),
    };
  }

  async close(): Promise<void> {
    await this.#config.closeConnections();
  }
}

/** The operator's finished changes (status.history) and the one in flight, as planner steps with timings. */
function historyOf(records: ReconfigRecord[], current: ReconfigProgress | undefined): PlannerHistory {
  const steps: PlannerHistory["steps"] = [];
  for (const change of current ? [...records, current] : records) {
    for (const s of change.steps ?? []) {
      steps.push({
        phase: s.step,
        startedAt: s.startedAt,
        durationMs: s.durationSeconds === undefined ? undefined : s.durationSeconds * 1000,
        messages: [`${change.from} -> ${change.to} voters`],
      });
    }
  }
  return { steps, events: [] };
}

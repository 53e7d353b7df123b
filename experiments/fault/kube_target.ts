/**
 * A RaftCluster in Kubernetes as a fault target. Faults go to each pod's own fault endpoint,
 * `POST http://<pod IP>:8081/admin/faults` (the admin port) with the cluster's admin token (Secret <name>-tokens):
 * a partition must be set on every pod of both sides, and only the pod itself can drop its own
 * traffic, so the client Service (which picks one pod at random) will not do. Pod IPs are reached
 * the way the operator reaches them: directly, which works from a machine that routes to the pod
 * network (localkube's pods run on this host) or from inside the cluster.
 * Kill deletes the pod with no grace period (the StatefulSet recreates it on its claim); wipe
 * deletes the claim too. Pause and resume need the container runtime and are refused.
 */
import * as k8s from "@kubernetes/client-node";
import { KubeConfigH1 } from "../../src/operator/framework/mod.ts";
import {
  ADMIN_TOKEN_KEY,
  adminUrlOf,
  claimName,
  type ClusterRef,
  labelSelector,
  podUrl,
  secretName,
  slotOfPod,
} from "../../src/operator/raftcluster/names.ts";
import { fetchNodeStatus } from "../../src/client/mod.ts";
import type { FaultAction, FaultState } from "../../src/client/wire_types.ts";
import { faultCall, type FaultNode, FaultRefused, type FaultTarget } from "./target.ts";

interface KubeNode extends FaultNode {
  pod: string;
  slot: number;
}

export class KubeTarget implements FaultTarget {
  readonly enableHint =
    "the RaftCluster's pods run without --fault-injection: the operator starts them with it only when the " +
    "RaftCluster has spec.faultInjection: true (experiments and tests only)";
  readonly command: string;

  private constructor(
    private readonly core: k8s.CoreV1Api,
    private readonly ref: ClusterRef,
    private readonly token: string,
  ) {
    this.command = `deno task fault --kube --namespace ${ref.namespace} ${ref.name}`;
  }

  get description(): string {
    return `RaftCluster ${this.ref.namespace}/${this.ref.name}`;
  }

  static async open(name: string, namespace: string | undefined): Promise<KubeTarget> {
    const config = new KubeConfigH1();
    try {
      config.loadFromDefault();
    } catch (e) {
      throw new Error(`cannot load the kubeconfig: ${(e as Error).message}`);
    }
    if (!config.getCurrentCluster()) throw new Error("no Kubernetes cluster to talk to: set KUBECONFIG");
    const ns = namespace ?? config.getContextObject(config.getCurrentContext())?.namespace ?? "default";
    const custom = config.makeApiClient(k8s.CustomObjectsApi);
    const core = config.makeApiClient(k8s.CoreV1Api);
    let rc: { metadata?: { uid?: string } };
    try {
      rc = await custom.getNamespacedCustomObject({
        group: "storage.sys",
        version: "v1",
        namespace: ns,
        plural: "raftclusters",
        name,
      });
    } catch (e) {
      throw new Error(`no RaftCluster ${ns}/${name}: ${(e as Error).message.split("\n")[0]}`);
    }
    const ref = { name, namespace: ns, uid: rc.metadata?.uid ?? "" };
    const secret = await core.readNamespacedSecret({ name: secretName(ref), namespace: ns });
    const token = secret.data?.[ADMIN_TOKEN_KEY];
    if (!token) throw new Error(`Secret ${ns}/${secretName(ref)} has no ${ADMIN_TOKEN_KEY}`);
    return new KubeTarget(core, ref, atob(token));
  }

  async nodes(): Promise<KubeNode[]> {
    const pods = await this.core.listNamespacedPod({
      namespace: this.ref.namespace,
      labelSelector: labelSelector(this.ref),
    });
    const out: KubeNode[] = [];
    for (const pod of pods.items) {
      const name = pod.metadata!.name!;
      const slot = slotOfPod(this.ref, name);
      if (slot === undefined || !pod.status?.podIP) continue;
      const url = podUrl(pod.status.podIP);
      const status = await fetchNodeStatus<{ id?: number }>(url, 1000);
      if (status?.id === undefined) continue;
      out.push({ id: status.id, url, label: `pod ${name} (node ${status.id})`, pod: name, slot });
    }
    return out.sort((a, b) => a.id - b.id);
  }

  async faultInjection(): Promise<boolean> {
    const [first] = await this.nodes();
    if (!first) throw new Error(`${this.description} has no pod that answers`);
    try {
      await this.faults(first);
      return true;
    } catch (e) {
      if (e instanceof FaultRefused) return false;
      throw e;
    }
  }

  inject(node: FaultNode, action: FaultAction): Promise<FaultState> {
    return faultCall(adminUrlOf(node.url), this.token, node.label, action);
  }

  faults(node: FaultNode): Promise<FaultState> {
    return faultCall(adminUrlOf(node.url), this.token, node.label);
  }

  async kill(node: FaultNode): Promise<string> {
    const { pod } = node as KubeNode;
    await this.core.deleteNamespacedPod({ name: pod, namespace: this.ref.namespace, gracePeriodSeconds: 0 });
    return `deleted pod ${pod} with no grace period; its StatefulSet recreates it on the same claim`;
  }

  pause(): Promise<string> {
    throw new FaultRefused(
      "pause needs the container runtime on the pod's node (SIGSTOP); not offered on --kube",
    );
  }

  resume(): Promise<string> {
    throw new FaultRefused(
      "resume needs the container runtime on the pod's node (SIGCONT); not offered on --kube",
    );
  }

  async wipe(node: FaultNode): Promise<string> {
    const { pod, slot } = node as KubeNode;
    const claim = claimName(this.ref, slot);
    await this.core.deleteNamespacedPersistentVolumeClaim({ name: claim, namespace: this.ref.namespace });
    await this.core.deleteNamespacedPod({ name: pod, namespace: this.ref.namespace, gracePeriodSeconds: 0 });
    return `deleted claim ${claim} and pod ${pod}: the pod comes back on a new, empty claim`;
  }

  async process(node: FaultNode): Promise<string> {
    const { pod } = node as KubeNode;
    const p = await this.core.readNamespacedPod({ name: pod, namespace: this.ref.namespace });
    return `${pod} ${p.status?.phase ?? "?"}`;
  }
}

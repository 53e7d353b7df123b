/**
 * The Node object of this agent and the proofs of life the node lifecycle controller expects:
 * a Ready condition in the Node's status and a Lease in kube-node-lease renewed every 10 s.
 * Without them the node gets a not-ready taint and its pods are evicted.
 */
import { KubeApi, KubeApiError } from "../kube_api.ts";

const LEASE_SECONDS = 40;
const RENEW_MS = 10_000;
const STATUS_EVERY_MS = 60_000;

export class NodeHeartbeat {
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastStatus = 0;
  /** The conditions never change while the agent runs: they turned true when it started. */
  readonly #since = new Date().toISOString();

  constructor(
    private readonly api: KubeApi,
    private readonly nodeName: string,
    private readonly podCidr: string,
    private readonly log: (line: string) => void,
  ) {}

  async start(): Promise<void> {
    await this.#register();
    await this.#beat();
    this.#timer = setInterval(() => {
      this.#beat().catch((e) => this.log(`node heartbeat failed: ${e.message}`));
    }, RENEW_MS);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #register() {
    try {
      await this.api.create("/api/v1/nodes", {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name: this.nodeName,
          labels: {
            "kubernetes.io/hostname": this.nodeName,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "node.kubernetes.io/instance-type": "localkube",
          },
        },
        spec: { podCIDR: this.podCidr, podCIDRs: [this.podCidr] },
      });
      this.log(`registered node ${this.nodeName} (pod network ${this.podCidr})`);
    } catch (e) {
      if (!(e instanceof KubeApiError && e.status === 409)) throw e;
    }
  }

  async #beat() {
    const now = new Date().toISOString();
    if (Date.now() - this.#lastStatus >= STATUS_EVERY_MS) {
      await this.api.patch(
        `/api/v1/nodes/${this.nodeName}/status`,
        { status: this.#status(now) },
        "strategic",
      );
      this.#lastStatus = Date.now();
    }
    const leasePath = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${this.nodeName}`;
    try {
      await this.api.patch(leasePath, { spec: { renewTime: microTime(now) } });
    } catch (e) {
      if (!(e instanceof KubeApiError && e.status === 404)) throw e;
      await this.api.create("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: this.nodeName, namespace: "kube-node-lease" },
        spec: {
          holderIdentity: this.nodeName,
          leaseDurationSeconds: LEASE_SECONDS,
          renewTime: microTime(now),
        },
      });
    }
  }

  #status(now: string) {
    const condition = (type: string, status: string, reason: string, message: string) => ({
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime: this.#since,
    });
    // Capacity is generous on purpose: the scheduler must never refuse a test's pods for lack of
    // resources; localkube enforces no limits anyway.
    const resources = { cpu: "16", memory: "64Gi", pods: "110", "ephemeral-storage": "100Gi" };
    return {
      conditions: [
        condition("Ready", "True", "KubeletReady", "localkube node agent is posting ready status"),
        condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "no memory pressure"),
        condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "no disk pressure"),
        condition("PIDPressure", "False", "KubeletHasSufficientPID", "no PID pressure"),
      ],
      capacity: resources,
      allocatable: resources,
      addresses: [{ type: "InternalIP", address: "127.0.0.1" }, { type: "Hostname", address: this.nodeName }],
      nodeInfo: {
        machineID: "",
        systemUUID: "",
        bootID: "",
        kernelVersion: Deno.osRelease(),
        osImage: "localkube",
        containerRuntimeVersion: `localkube://deno-${Deno.version.deno}`,
        kubeletVersion: "localkube",
        kubeProxyVersion: "",
        operatingSystem: "linux",
        architecture: "amd64",
      },
    };
  }
}

/** Lease times are MicroTime: RFC 3339 with microseconds. */
function microTime(iso: string): string {
  return iso.replace(/\.(\d{3})Z$/, ".$1000Z");
}

/**
 * The node agent, localkube's stand-in for a kubelet: registers the node, runs the pods the
 * scheduler binds to it as local processes, serves cluster DNS and provisions volumes.
 */
import { KubeApi, KubeApiError } from "../kube_api.ts";
import { Reflector } from "../kube_reflector.ts";
import { ClusterDns } from "./dns_server.ts";
import { NodeHeartbeat } from "./node_heartbeat.ts";
import { PodIpPool } from "./pod_ip_pool.ts";
import { claimPodNetwork } from "./pod_network.ts";
import { PodWorker } from "./pod_worker.ts";
import { VolumeProvisioner } from "./volume_provisioner.ts";
import type { KubeAccess } from "../kube_api.ts";
import type { Pod } from "./kube_types.ts";

export interface AgentConfig {
  access: KubeAccess;
  nodeName: string;
  stateDir: string;
  repoRoot: string;
  denoPath: string;
}

export interface RunningAgent {
  dnsAddress: string;
  podNetwork: string;
  stop(): Promise<void>;
}

export async function startAgent(config: AgentConfig, log: (line: string) => void): Promise<RunningAgent> {
  const api = new KubeApi(config.access);
  const network = await claimPodNetwork();
  const ips = new PodIpPool(network.secondOctet);
  await Deno.mkdir(`${config.stateDir}/agent/pids`, { recursive: true });
  const dns = new ClusterDns(api, new URL(config.access.server).hostname, log);
  const provisioner = new VolumeProvisioner(api, `${config.stateDir}/volumes`, log);
  const heartbeat = new NodeHeartbeat(api, config.nodeName, ips.cidr, log);
  const workers = new Map<string, PodWorker>();

  const context = {
    api,
    nodeName: config.nodeName,
    stateDir: config.stateDir,
    repoRoot: config.repoRoot,
    denoPath: config.denoPath,
    dnsAddress: () => `127.0.0.1:${dns.port}`,
    allocateIp: (uid: string) => ips.allocate(uid),
    releaseIp: (uid: string) => ips.release(uid),
    claimFolder: (namespace: string, claim: string) => provisioner.hostFolderOf(namespace, claim),
    log,
  };

  const onPod = (type: string, pod: Pod) => {
    const uid = pod.metadata.uid!;
    const worker = workers.get(uid);
    if (type === "DELETED") {
      // Gone without our finalization (force deletion): stop its processes at once.
      if (worker) {
        worker.kill(2_000).catch((e) => log(`stopping pod ${pod.metadata.name} failed: ${e.message}`))
          .finally(() => workers.delete(uid));
      }
      return;
    }
    if (worker) {
      worker.update(pod);
      return;
    }
    if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return;
    const fresh = new PodWorker(pod, context);
    workers.set(uid, fresh);
    if (pod.metadata.deletionTimestamp) {
      fresh.terminate().catch((e) => log(`finalizing pod ${pod.metadata.name} failed: ${e.message}`))
        .finally(() => workers.delete(uid));
      return;
    }
    fresh.start().catch((e) => log(`pod ${pod.metadata.name} failed to start: ${e.stack ?? e}`));
  };
  const pods = new Reflector<Pod>(
    api,
    `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${config.nodeName}`)}`,
    onPod,
    log,
  );

  try {
    await dns.start();
    await provisioner.start();
    await heartbeat.start();
    await pods.start();
  } catch (e) {
    network.release();
    throw e;
  }
  log(`node agent ready: node ${config.nodeName}, pods in ${ips.cidr}, DNS on 127.0.0.1:${dns.port}`);

  return {
    dnsAddress: `127.0.0.1:${dns.port}`,
    podNetwork: ips.cidr,
    async stop() {
      heartbeat.stop();
      await pods.stop();
      await Promise.all([...workers.values()].map((w) => w.kill(3_000)));
      await provisioner.stop();
      await dns.stop();
      // Tell the control plane this node is gone, so a later agent starts from a clean node.
      await api.delete(`/api/v1/nodes/${config.nodeName}`).catch((e) => {
        if (!(e instanceof KubeApiError)) log(`could not delete node ${config.nodeName}: ${e.message}`);
      });
      api.close();
      network.release();
    },
  };
}

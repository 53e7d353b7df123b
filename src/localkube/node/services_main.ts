/**
 * The real node's cluster services, one process beside the kubelet: the cluster DNS on the bridge
 * address (port 53, the kubelet's clusterDNS; Services answer their ClusterIPs) and the hostPath
 * volume provisioner for claims. `deno run ... services_main.ts <config.json>`; writes
 * `<stateDir>/node/services-ready.json` once serving; SIGTERM or SIGINT stops it.
 */
import { ClusterDns } from "../agent/dns_server.ts";
import { VolumeProvisioner } from "../agent/volume_provisioner.ts";
import { KubeAccess, KubeApi } from "../kube_api.ts";

export interface NodeServicesConfig {
  access: KubeAccess;
  stateDir: string;
  dnsHost: string;
  dnsPort: number;
}

const configPath = Deno.args[0];
if (!configPath) {
  console.error(
    "usage: node/services_main.ts <config.json> (written by localkube; see src/localkube/node/real_node.ts)",
  );
  Deno.exit(2);
}
const config = JSON.parse(await Deno.readTextFile(configPath)) as NodeServicesConfig;
const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
const api = new KubeApi(config.access);
const dns = new ClusterDns(api, undefined, log, {
  host: config.dnsHost,
  port: config.dnsPort,
  serviceIps: true,
});
const provisioner = new VolumeProvisioner(api, `${config.stateDir}/volumes`, log);
await dns.start();
await provisioner.start();
log(`cluster DNS on ${config.dnsHost}:${config.dnsPort}; volumes in ${config.stateDir}/volumes`);
let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping`);
  await provisioner.stop();
  await dns.stop();
  api.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", () => shutdown("SIGTERM"));
Deno.addSignalListener("SIGINT", () => shutdown("SIGINT"));
await Deno.writeTextFile(`${config.stateDir}/node/services-ready.json`, JSON.stringify({ pid: Deno.pid }));

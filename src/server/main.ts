/**
 * The raft-kv server: `deno task server --data-dir DIR --node-id N --bootstrap ...`
 * (see config.ts for every flag). SIGTERM/SIGINT stop it gracefully; a storage failure stops
 * it with exit code 1 so that a supervisor restarts it and it recovers from its WAL.
 */
import { ConfigError, parseConfig, usage } from "./config.ts";
import { UsageError, usageErrorLines } from "../cli/args.ts";
import { makeLogger } from "./logger.ts";
import { NodeHolder } from "./node_holder.ts";
import { createApp } from "./app.ts";
import { ServerMetrics } from "./metrics.ts";
import { installProbes } from "../metrics/probes.ts";
import { loadTlsMaterial } from "../security/tls_files.ts";
import { useClusterTls } from "../security/cluster_fetch.ts";
import { type ClientListener, listenClientPort } from "../security/client_listener.ts";
import { securityWarnings } from "../security/startup_warnings.ts";
import { AuthPolicy } from "../security/auth_policy.ts";

if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
  console.log(usage());
  Deno.exit(0);
}
let config;
try {
  config = parseConfig(Deno.args, (name) => Deno.env.get(name));
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  console.error(usageErrorLines("server", new UsageError(e.message)));
  Deno.exit(2);
}

// The logger names the node, whose identity may only arrive later (POST /admin/identity).
const ref: { holder?: NodeHolder } = {};
const log = makeLogger(config.logLevel, config.logFormat, () => ({
  component: "server",
  node: ref.holder?.identity?.nodeId,
  term: ref.holder?.node?.status().term,
}));
const holder = ref.holder = new NodeHolder(config, log, (error) => {
  log("error", `fatal: ${error.message}; exiting so that the supervisor restarts this node`);
  Deno.exit(1);
});
try {
  if (config.tls && config.tlsBootstrap) {
    // The operator's mode: the key is made here, the certificate comes with the identity.
    // TLS code loads only when asked for: see node_holder.ts.
    const { MemberTls } = await import("../security/member_tls.ts");
    holder.memberTls = await MemberTls.open(config.tls);
    holder.tls = holder.memberTls.material;
    useClusterTls(holder.tls);
    holder.memberTls.onChange((material) => {
      holder.tls = material;
      useClusterTls(material);
    });
    if (!holder.memberTls.issued) {
      log("info", "no certificate yet: serving a self-signed one until the operator issues it");
    }
  } else if (config.tls) {
    holder.tls = await loadTlsMaterial(config.tls);
    useClusterTls(holder.tls);
  }
  if (config.authFile) {
    holder.auth = await AuthPolicy.load(config.authFile);
    log("info", `client authentication on: ${holder.auth.tokenCount} token(s) from ${config.authFile}`);
  }
  await holder.initialize();
} catch (e) {
  log("error", `cannot start: ${(e as Error).message}`);
  Deno.exit(1);
}

holder.diskAlarm?.start();
holder.clusterAlarms.start();
const metrics = new ServerMetrics(holder);
installProbes(metrics.probes);
const app = createApp(holder, metrics, { client: true, admin: !config.listenAdmin });
const listenOptions = { tls: holder.tls, clientCertAuth: config.clientCertAuth, log };
let server;
let adminServer: ClientListener | undefined;
try {
  server = await listenClientPort({ ...config.listenClient, ...listenOptions }, app.fetch);
} catch (e) {
  log(
    "error",
    `cannot listen for clients on ${config.listenClient.hostname}:${config.listenClient.port}: ${e}`,
  );
  Deno.exit(1);
}
// --listen-admin: the admin API on its own port, which a NetworkPolicy can open to the operator only.
if (config.listenAdmin) {
  try {
    adminServer = await listenClientPort(
      { ...config.listenAdmin, ...listenOptions },
      createApp(holder, metrics, { client: false, admin: true }).fetch,
    );
    log("info", `admin API on ${adminServer.url}`);
  } catch (e) {
    log(
      "error",
      `cannot listen for the admin API on ${config.listenAdmin.hostname}:${config.listenAdmin.port}: ${e}`,
    );
    Deno.exit(1);
  }
}
holder.memberTls?.onChange((material) => {
  server.useMaterial?.(material);
  adminServer?.useMaterial?.(material);
  log("info", "serving the certificate the cluster CA issued for this node");
});
const peers = `${config.listenPeer.hostname}:${config.listenPeer.port}`;
log("info", `client API on ${server.url} (peers on ${peers}${holder.tls ? ", mutual TLS" : ""})`);
for (const warning of securityWarnings(config)) log("warn", warning);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log("info", `${signal}: shutting down`);
  holder.diskAlarm?.stop();
  holder.clusterAlarms.stop();
  await holder.node?.stop();
  await server.shutdown();
  await adminServer?.shutdown();
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", () => void stop("SIGTERM"));
Deno.addSignalListener("SIGINT", () => void stop("SIGINT"));

/**
 * The RaftCluster operator: `deno task operator [--kubeconfig FILE] [--namespace NS] ...` (--help).
 * Out of a cluster it uses KUBECONFIG (or ~/.kube/config); in a pod, the service account. Replicas
 * elect a leader through a Lease, so only one ever acts. SIGTERM/SIGINT stop it gracefully and
 * release the Lease; a killed operator is resumed by the next one from the RaftClusters' status.
 */
import { parseArgs } from "node:util";
import { consoleLogger, KubeConfigH1, type LogLevel, Operator } from "../framework/mod.ts";
import { ClusterApi } from "./cluster_api.ts";
import { RaftClusterHandlers } from "./handlers.ts";
import { RaftClusterReconciler } from "./reconciler.ts";
import { levelLogger, type LogFormat, parseLogFormat } from "../../server/logger.ts";
import { plainMessage, UsageError, usageErrorLines } from "../../cli/args.ts";

const USAGE = `usage: raft-operator [options]
  --kubeconfig FILE        cluster credentials (default: KUBECONFIG, ~/.kube/config, or the pod's service account)
  --namespace NS           watch RaftClusters in this namespace only (default: all; env WATCH_NAMESPACE)
  --lease-namespace NS     where the leader-election Lease lives (default: POD_NAMESPACE, else the
                           kubeconfig's namespace, else "default")
  --lease-name NAME        the Lease's name (default raft-operator)
  --identity ID            this replica's name in the Lease (default: POD_NAME, else <hostname>-<pid>)
  --log-level L            debug | info | warn | error (default info)
  --log-format F           text | json: one JSON object a line (time, level, component, node, term, message)`;

function fail(message: string): never {
  console.error(usageErrorLines("operator", new UsageError(message)));
  Deno.exit(2);
}

let values;
try {
  values = parseArgs({
    args: Deno.args,
    options: {
      kubeconfig: { type: "string" },
      namespace: { type: "string" },
      "lease-namespace": { type: "string" },
      "lease-name": { type: "string" },
      identity: { type: "string" },
      "log-level": { type: "string" },
      "log-format": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  }).values;
} catch (error) {
  fail(plainMessage(error));
}
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const logLevel = (values["log-level"] ?? "info") as LogLevel;
if (!["debug", "info", "warn", "error"].includes(logLevel)) {
  fail(`--log-level must be debug, info, warn or error`);
}
let logFormat: LogFormat = "text";
try {
  logFormat = parseLogFormat(values["log-format"] ?? "text");
} catch (error) {
  fail((error as Error).message);
}

const kubeConfig = new KubeConfigH1();
try {
  if (values.kubeconfig) kubeConfig.loadFromFile(values.kubeconfig);
  else kubeConfig.loadFromDefault();
} catch (error) {
  fail(`cannot load the kubeconfig: ${(error as Error).message}`);
}
if (!kubeConfig.getCurrentCluster()) {
  fail("no cluster to talk to: pass --kubeconfig, set KUBECONFIG, or run in a pod with a service account");
}
const contextNamespace = kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace;
const namespace = values.namespace ?? Deno.env.get("WATCH_NAMESPACE") ?? undefined;
const leaseNamespace = values["lease-namespace"] ?? Deno.env.get("POD_NAMESPACE") ?? contextNamespace ??
  "default";
const identity = values.identity ?? Deno.env.get("POD_NAME") ?? `${Deno.hostname()}-${Deno.pid}`;

const logger = logFormat === "json"
  ? levelLogger(logLevel, "json", () => ({ component: "operator" }))
  : consoleLogger(logLevel);
const operator = new Operator({
  kubeConfig,
  ...(namespace ? { namespace } : {}),
  handlers: [new RaftClusterHandlers(new RaftClusterReconciler(new ClusterApi(kubeConfig)))],
  leaderElection: { leaseName: values["lease-name"] ?? "raft-operator", namespace: leaseNamespace, identity },
  logger,
  // A failing API call is retried within seconds, not the framework's default of up to 5 minutes.
  settings: { retryBackoff: { initialMs: 500, maxMs: 15_000 }, errorBackoff: { maxMs: 15_000 } },
});

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info(`${signal}: stopping`);
  await operator.stop();
  await kubeConfig.closeConnections();
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", () => void stop("SIGTERM"));
Deno.addSignalListener("SIGINT", () => void stop("SIGINT"));

logger.info(
  `raft-operator ${identity}: watching ${namespace ? `namespace ${namespace}` : "all namespaces"}, ` +
    `Lease ${leaseNamespace}/${values["lease-name"] ?? "raft-operator"}`,
);
await operator.start();

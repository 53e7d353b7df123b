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
import { DEFAULT_TUNING } from "../../reconfig/types.ts";

const USAGE = `usage: raft-operator [options]
  --kubeconfig FILE        cluster credentials (default: KUBECONFIG, ~/.kube/config, or the pod's service account)
  --namespace NS           watch RaftClusters in this namespace only (default: all; env WATCH_NAMESPACE)
  --lease-namespace NS     where the leader-election Lease lives (default: POD_NAMESPACE, else the
                           kubeconfig's namespace, else "default")
  --lease-name NAME        the Lease's name (default raft-operator)
  --identity ID            this replica's name in the Lease (default: POD_NAME, else <hostname>-<pid>)
  --lease-duration-ms N    how long the Lease stays valid without renewal (default 15000)
  --renew-deadline-ms N    stop acting when the Lease could not be renewed for this long (default 10000)
  --retry-period-ms N      between renewals; also each renewal's timeout (default 2000)
  --crash-after-step S     TESTS ONLY: exit at once (code 137, as if SIGKILLed) right after persisting a
                           decision that passed through workflow step S (AddLearners, EnterJoint, ...)
  --health-port N          serve GET /healthz and /readyz on this port (default: env HEALTH_PORT, else none)
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
      "health-port": { type: "string" },
      "crash-after-step": { type: "string" },
      "lease-duration-ms": { type: "string" },
      "renew-deadline-ms": { type: "string" },
      "retry-period-ms": { type: "string" },
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

const healthPortText = values["health-port"] ?? Deno.env.get("HEALTH_PORT");
const healthPort = healthPortText === undefined ? undefined : Number(healthPortText);
if (healthPort !== undefined && !(Number.isInteger(healthPort) && healthPort > 0 && healthPort < 65536)) {
  fail(`--health-port must be a port number from 1 to 65535, got "${healthPortText}"`);
}

function positiveMs(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = Number(text);
  if (!Number.isInteger(ms) || ms <= 0) {
    fail(`--${flag} must be a positive integer (milliseconds), got "${text}"`);
  }
  return ms;
}
const leaseTimings = {
  leaseDurationMs: positiveMs(values["lease-duration-ms"], "lease-duration-ms"),
  renewDeadlineMs: positiveMs(values["renew-deadline-ms"], "renew-deadline-ms"),
  retryPeriodMs: positiveMs(values["retry-period-ms"], "retry-period-ms"),
};

const crashAfterStep = values["crash-after-step"];

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
  handlers: [
    new RaftClusterHandlers(
      new RaftClusterReconciler(new ClusterApi(kubeConfig), DEFAULT_TUNING, (steps) => {
        if (crashAfterStep && steps.includes(crashAfterStep)) {
          console.error(`raft-operator: --crash-after-step ${crashAfterStep}: exiting after persisting it`);
          Deno.exit(137);
        }
      }, identity),
    ),
  ],
  leaderElection: {
    leaseName: values["lease-name"] ?? "raft-operator",
    namespace: leaseNamespace,
    identity,
    ...Object.fromEntries(Object.entries(leaseTimings).filter(([, v]) => v !== undefined)),
  },
  logger,
  // At the pod IP when known (under localkube pods share the host's network; the kubelet probes the pod IP).
  ...(healthPort ? { health: { port: healthPort, hostname: Deno.env.get("POD_IP") ?? "0.0.0.0" } } : {}),
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

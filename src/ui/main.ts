/**
 * deno task ui [--port 8090] [--host 127.0.0.1] [--state-dir DIR] [--results DIR]
 *              [--sim-trace FILE ...] [--kube NAME [--namespace NS]]
 *
 * The live view: a browser page showing a running cluster (every member, the configuration, the
 * planner, the leader's view of its followers, ReadIndex rounds, messages moving between nodes),
 * with controls for a local cluster started with --fault-injection, and replay of simulator
 * traces and experiment runs. Open the printed URL; Ctrl-C stops it.
 */
import { parseArgs } from "node:util";
import { defaultStateDir } from "../local/state.ts";
import { bundlePage } from "./bundle.ts";
import { LiveFeed } from "./live_feed.ts";
import { LocalClusterLink } from "./local_cluster.ts";
import { LocalClusterSource } from "./local_source.ts";
import { KubeClusterSource } from "./kube_source.ts";
import { ExperimentRuns } from "./experiment_runs.ts";
import { createUiApp } from "./server.ts";
import { checkSimTrace } from "./web/sim_trace_check.ts";

const USAGE = `usage: deno task ui [--port 8090] [--host 127.0.0.1] [--state-dir DIR] [--results DIR]
                   [--sim-trace FILE ...] [--kube NAME [--namespace NS]]
  --state-dir DIR    the local cluster to watch and control (default .data/local, as deno task local)
  --results DIR      where experiment runs are (default bench-results/, or RAFTKV_RESULTS_DIR)
  --sim-trace FILE   a simulator trace to offer for replay (deno task sim ... --trace-json FILE);
                     the page can also open one from disk
  --kube NAME        watch the RaftCluster NAME through the current kubeconfig instead
  --trace-rate N     routine messages per second sampled from each node (default 30)`;

function fail(message: string): never {
  console.error(`error: ${message}\n${USAGE}`);
  Deno.exit(2);
}

let values;
try {
  values = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "8090" },
      host: { type: "string", default: "127.0.0.1" },
      "state-dir": { type: "string" },
      results: { type: "string" },
      "sim-trace": { type: "string", multiple: true },
      kube: { type: "string" },
      namespace: { type: "string", default: "default" },
      "trace-rate": { type: "string", default: "30" },
      help: { type: "boolean", short: "h" },
    },
  }).values;
} catch (e) {
  fail((e as Error).message);
}
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  fail(`--port must be 0 to 65535, got ${values.port}`);
}
const traceRate = Number(values["trace-rate"]);
if (!Number.isInteger(traceRate) || traceRate < 0 || traceRate > 1000) {
  fail(`--trace-rate must be an integer from 0 to 1000, got ${values["trace-rate"]}`);
}
const simTraces = [];
for (const path of values["sim-trace"] ?? []) {
  try {
    simTraces.push({
      name: path.split("/").at(-1)!,
      trace: checkSimTrace(JSON.parse(await Deno.readTextFile(path)), path),
    });
  } catch (e) {
    fail(`cannot use --sim-trace ${path}: ${(e as Error).message}`);
  }
}

const t0 = performance.now();
console.log("bundling the page (deno bundle) ...");
let script: string;
try {
  script = await bundlePage();
} catch (e) {
  console.error(`error: ${(e as Error).message}`);
  Deno.exit(1);
}
console.log(
  `bundled ${(script.length / 1024).toFixed(0)} KiB in ${((performance.now() - t0) / 1000).toFixed(1)}s`,
);

let kube: KubeClusterSource | undefined;
let local: LocalClusterLink | undefined;
if (values.kube) {
  try {
    kube = new KubeClusterSource(values.kube, values.namespace!);
  } catch (e) {
    console.error(`error: cannot load a kubeconfig for --kube: ${(e as Error).message}`);
    Deno.exit(1);
  }
} else local = new LocalClusterLink(values["state-dir"] ?? defaultStateDir());
const feed = new LiveFeed(kube ?? new LocalClusterSource(local!), traceRate);
// As experiments/lib/results.ts decides where runs go.
const results = values.results ?? Deno.env.get("RAFTKV_RESULTS_DIR") ??
  new URL("../../bench-results", import.meta.url).pathname;
const experiments = new ExperimentRuns(results.replace(/\/$/, ""));
const app = createUiApp({ script, feed, local, kube, experiments, simTraces });

let server: Deno.HttpServer;
try {
  server = Deno.serve({
    hostname: values.host,
    port,
    onListen: ({ hostname, port }) => {
      console.log(`raft-kv live view on http://${hostname}:${port}/`);
      console.log(
        kube
          ? `watching RaftCluster ${values.namespace}/${values.kube}`
          : `watching the local cluster in ${
            local!.stateDir
          } (start one: deno task local up --fault-injection)`,
      );
    },
  }, app.fetch);
} catch (e) {
  console.error(
    `error: cannot listen on ${values.host}:${port}: ${(e as Error).message} (pick another --port, or 0)`,
  );
  Deno.exit(1);
}

const stop = async () => {
  feed.close();
  await kube?.close();
  await server.shutdown();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", () => void stop());
Deno.addSignalListener("SIGTERM", () => void stop());

/**
 * The background supervisor process behind `deno task local up` (started detached). It owns the
 * node processes, restarts crashed ones, reconciles the size, and serves the control API.
 *   deno run ... src/local/supervisor_main.ts --state-dir DIR [--log-format text|json]
 * Its log (DIR/supervisor.log) has a line for every planner step; `deno task local scale` streams it.
 */
import { parseArgs } from "node:util";
import { formatLogLine, type LogFormat, parseLogFormat } from "../server/logger.ts";
import { LocalSupervisor } from "./supervisor.ts";
import { controlApi } from "./control_api.ts";
import { writeState } from "./state.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { "state-dir": { type: "string" }, "log-format": { type: "string", default: "text" } },
});
const stateDir = values["state-dir"];
let format: LogFormat = "text";
try {
  format = parseLogFormat(values["log-format"]!);
} catch (e) {
  console.error((e as Error).message);
  Deno.exit(2);
}
if (!stateDir) {
  console.error("usage: supervisor_main.ts --state-dir DIR [--log-format text|json]");
  Deno.exit(2);
}
const logFile = await Deno.open(`${stateDir}/supervisor.log`, { create: true, append: true });
const encoder = new TextEncoder();
let lostLines = 0;
/**
 * A failing log write (a full disk) must not take the supervisor, and with it every node, down:
 * the line is dropped and counted, and the count is logged once writing works again.
 */
const log = (line: string) => {
  try {
    const lost = lostLines ? `(${lostLines} log lines lost: the log could not be written)` : "";
    const lines = [lost, line].filter((l) => l !== "")
      .map((l) => formatLogLine(format, "info", l, { component: "supervisor" }, "") + "\n");
    writeAll(encoder.encode(lines.join("")));
    lostLines = 0;
  } catch {
    lostLines++;
  }
};
function writeAll(bytes: Uint8Array) {
  for (let done = 0; done < bytes.length;) {
    const n = logFile.writeSync(bytes.subarray(done));
    if (n === 0) throw new Error("the log takes no more bytes");
    done += n;
  }
}
// Detached, this process has no terminal: anything unexpected must reach the log, and must not
// take every node down with the supervisor (the nodes and the reconcile loop carry on).
globalThis.addEventListener("error", (e) => {
  e.preventDefault();
  log(`uncaught error (carrying on): ${e.error?.stack ?? e.message}`);
});
globalThis.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  log(`unhandled rejection (carrying on): ${(e.reason as Error)?.stack ?? e.reason}`);
});

let sup: LocalSupervisor;
try {
  sup = await LocalSupervisor.open(stateDir, log);
} catch (e) {
  log(`cannot start: ${(e as Error).message}`);
  Deno.exit(1);
}

const ref: { server?: Deno.HttpServer } = {};
const shutdown = async () => {
  log("shutting down: stopping every node");
  await sup.stop();
  sup.state.supervisor = undefined;
  await writeState(stateDir, sup.state).catch((e) => log(`cannot write the state file: ${e.message}`));
  await ref.server?.shutdown();
  log("stopped");
  Deno.exit(0);
};
const server = ref.server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: () => {} },
  controlApi(sup, () => void shutdown()).fetch,
);
sup.state.supervisor = {
  pid: Deno.pid,
  controlUrl: `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`,
};
// Without this entry the CLI cannot find the control API; keep retrying rather than die.
for (let attempt = 1;; attempt++) {
  try {
    await writeState(stateDir, sup.state);
    break;
  } catch (e) {
    if (attempt === 1 || attempt % 60 === 0) {
      log(`cannot write the state file (${(e as Error).message}); retrying every second`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
log(`supervisor pid ${Deno.pid}, control API ${sup.state.supervisor.controlUrl}`);
Deno.addSignalListener("SIGTERM", () => void shutdown());
Deno.addSignalListener("SIGINT", () => void shutdown());
sup.start();

/**
 * The background supervisor process behind `deno task local up` (started detached). It owns the
 * node processes, restarts crashed ones, reconciles the size, and serves the control API.
 *   deno run ... src/local/supervisor_main.ts --state-dir DIR [--resume]
 */
import { parseArgs } from "node:util";
import { LocalSupervisor } from "./supervisor.ts";
import { controlApi } from "./control_api.ts";
import { writeState } from "./state.ts";

const { values } = parseArgs({ args: Deno.args, options: { "state-dir": { type: "string" } } });
const stateDir = values["state-dir"];
if (!stateDir) {
  console.error("usage: supervisor_main.ts --state-dir DIR");
  Deno.exit(2);
}
const logFile = await Deno.open(`${stateDir}/supervisor.log`, { create: true, append: true });
const encoder = new TextEncoder();
const log = (line: string) => logFile.writeSync(encoder.encode(`${new Date().toISOString()} ${line}\n`));
// Detached, this process has no terminal: anything fatal must reach the log.
globalThis.addEventListener("error", (e) => log(`uncaught error: ${e.error?.stack ?? e.message}`));
globalThis.addEventListener("unhandledrejection", (e) => {
  log(`unhandled rejection: ${(e.reason as Error)?.stack ?? e.reason}`);
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
  await writeState(stateDir, sup.state);
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
await writeState(stateDir, sup.state);
log(`supervisor pid ${Deno.pid}, control API ${sup.state.supervisor.controlUrl}`);
Deno.addSignalListener("SIGTERM", () => void shutdown());
Deno.addSignalListener("SIGINT", () => void shutdown());
sup.start();

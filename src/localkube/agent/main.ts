/**
 * The node agent as a process: `deno run ... agent/main.ts <config.json>`. Writes
 * `<stateDir>/agent/ready.json` once serving; SIGTERM or SIGINT stops its pods' processes and exits.
 */
import { AgentConfig, startAgent } from "./agent.ts";

const configPath = Deno.args[0];
if (!configPath) {
  console.error("usage: agent/main.ts <config.json> (written by localkube; see src/localkube/cluster.ts)");
  Deno.exit(2);
}
const config = JSON.parse(await Deno.readTextFile(configPath)) as AgentConfig;
const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
// One pod's failure must not take every other pod down with the agent: log it and carry on.
globalThis.addEventListener("unhandledrejection", (event) => {
  log(`BUG: unhandled error in the node agent: ${event.reason?.stack ?? event.reason}`);
  event.preventDefault();
});
const agent = await startAgent(config, log);
let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping pods and leaving`);
  await agent.stop();
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", () => shutdown("SIGTERM"));
Deno.addSignalListener("SIGINT", () => shutdown("SIGINT"));
await Deno.writeTextFile(
  `${config.stateDir}/agent/ready.json`,
  JSON.stringify({ pid: Deno.pid, dnsAddress: agent.dnsAddress, podNetwork: agent.podNetwork }),
);

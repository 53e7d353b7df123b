/**
 * deno task local up [--replicas 3] [--safety-mode safe] [--client-port 8080] [--peer-port 7080]
 *                    [--auto-ports] [--fault-injection]
 * deno task local status [--json] | scale N | kill ID | pause ID | resume ID | restart ID | down
 *
 * A raft-kv cluster of local processes on 127.0.0.1, supervised in the background. State lives
 * in .data/local (or --state-dir), which `down` removes.
 */
import { parseArgs } from "node:util";
import { SAFETY_MODES, type SafetyMode } from "../raft/mod.ts";
import { LocalSupervisor } from "./supervisor.ts";
import { defaultStateDir, isAlive, type LocalClusterState, readState } from "./state.ts";
import { portInUse } from "./ports.ts";
import { fetchNodeStatus } from "../client/mod.ts";

const SUPERVISOR = new URL("./supervisor_main.ts", import.meta.url).pathname;

const USAGE = `usage: deno task local <command>
  up [--replicas N] [--safety-mode M] [--client-port P] [--peer-port P] [--auto-ports] [--fault-injection]
                      start N nodes (default 3) on 127.0.0.1; returns once a leader is elected
  status [--json]     every node: role, term, commit, applied, pid, URL
  scale N             resize through learners, catch-up, joint consensus and leader transfer
  kill ID             SIGKILL a node (the supervisor restarts it; it recovers from its WAL)
  pause ID | resume ID   SIGSTOP / SIGCONT a node
  restart ID          stop and start a node
  down                stop every process and remove the state directory
options: --state-dir DIR (default .data/local)`;

class UsageError extends Error {}

function fail(message: string, code = 1): never {
  console.error(message);
  Deno.exit(code);
}

async function control(state: LocalClusterState, method: string, path: string, body?: unknown) {
  const url = state.supervisor?.controlUrl;
  if (!url || !isAlive(state.supervisor?.pid)) {
    fail('the local supervisor is not running (crashed?). Run "deno task local down" and "up" again.');
  }
  const r = await fetch(`${url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await r.json() as Record<string, unknown>;
  if (!r.ok) fail(`error: ${json.error}`);
  return json;
}

async function loadRunning(stateDir: string): Promise<LocalClusterState> {
  const state = await readState(stateDir);
  if (!state) fail(`no local cluster in ${stateDir}: start one with "deno task local up"`);
  return state;
}

/** Polls the supervisor, printing each new planner message, until `done` or the timeout. */
async function follow(
  stateDir: string,
  done: (s: LocalClusterState, settled: boolean) => boolean,
  timeoutMs: number,
) {
  const deadline = performance.now() + timeoutMs;
  let last = "";
  while (performance.now() < deadline) {
    const state = await loadRunning(stateDir);
    if (!state.supervisor) {
      // Just started: the supervisor registers its control API in the state file shortly.
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    const { settled } = await control(state, "GET", "/state") as { settled: boolean };
    const line = `  [${state.reconfig.phase}] ${state.reconfig.message}`;
    if (line !== last) console.log(line);
    last = line;
    if (done(state, settled)) return state;
    await new Promise((r) => setTimeout(r, 200));
  }
  fail(`timed out after ${timeoutMs / 1000}s; see ${stateDir}/supervisor.log and the node logs there`);
}

interface StatusRow {
  id?: number;
  role?: string;
  term?: number;
  leader?: number;
  commit?: number;
  applied?: number;
  conf?: { voters: number[]; learners: number[]; joint: boolean };
}

function nodeStatus(url: string): Promise<StatusRow | undefined> {
  return fetchNodeStatus<StatusRow>(url);
}

async function printStatus(state: LocalClusterState, json: boolean): Promise<void> {
  const rows = await Promise.all(
    state.nodes.map(async (n) => ({ node: n, status: await nodeStatus(n.clientUrl) })),
  );
  if (json) {
    console.log(
      JSON.stringify(
        { clusterId: state.clusterId, safetyMode: state.safetyMode, reconfig: state.reconfig, nodes: rows },
        null,
        2,
      ),
    );
    return;
  }
  console.log(
    `cluster "${state.clusterId}" (${state.safetyMode}), ${state.desiredReplicas} desired, phase ${state.reconfig.phase}`,
  );
  const header = ["id", "slot", "role", "term", "commit", "applied", "pid", "process", "client URL"];
  const table = rows.map(({ node: n, status: s }) => [
    String(n.id),
    String(n.slot),
    s?.role ?? "down",
    String(s?.term ?? "-"),
    String(s?.commit ?? "-"),
    String(s?.applied ?? "-"),
    String(n.pid ?? "-"),
    n.state,
    n.clientUrl,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ");
  console.log(line(header));
  for (const r of table) console.log(line(r));
  const conf = rows.find((r) => r.status?.role === "leader")?.status?.conf;
  if (conf) {
    console.log(
      `voters [${conf.voters}]${conf.learners.length ? `, learners [${conf.learners}]` : ""}${
        conf.joint ? " (joint)" : ""
      }`,
    );
  } else console.log("no leader answers right now");
}

async function up(stateDir: string, o: Record<string, string | boolean | undefined>): Promise<void> {
  const existing = await readState(stateDir);
  if (existing) {
    if (isAlive(existing.supervisor?.pid)) {
      fail(`a local cluster is already up (deno task local status, or down to stop it)`);
    }
    fail(`${stateDir} holds a stopped cluster: run "deno task local down" to clear it first`);
  }
  const replicas = Number(o.replicas ?? 3);
  const mode = String(o["safety-mode"] ?? "safe") as SafetyMode;
  if (!SAFETY_MODES.includes(mode)) {
    throw new UsageError(`--safety-mode must be one of ${SAFETY_MODES.join(", ")}`);
  }
  let ports: "auto" | { client: number; peer: number } = "auto";
  if (!o["auto-ports"]) {
    ports = { client: Number(o["client-port"] ?? 8080), peer: Number(o["peer-port"] ?? 7080) };
    for (let slot = 0; slot < replicas; slot++) {
      for (const port of [ports.client + slot, ports.peer + slot]) {
        if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new UsageError(`bad port ${port}`);
        if (portInUse(port)) {
          fail(`port ${port} is in use: pick other bases with --client-port/--peer-port, or --auto-ports`);
        }
      }
    }
  }
  await LocalSupervisor.initialize(stateDir, {
    replicas,
    safetyMode: mode,
    ports,
    faultInjection: o["fault-injection"] === true,
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-run",
      "--allow-sys",
      SUPERVISOR,
      "--state-dir",
      stateDir,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  child.unref();
  console.log(
    `starting ${replicas} raft-kv nodes (${mode}); supervisor pid ${child.pid}, state in ${stateDir}`,
  );
  const t0 = performance.now();
  const state = await follow(stateDir, (_, settled) => settled, 90_000);
  console.log(`cluster up in ${((performance.now() - t0) / 1000).toFixed(1)}s:`);
  for (const n of state.nodes) console.log(`  node ${n.id}: ${n.clientUrl}   (peers: ${n.peerAddress})`);
  const first = state.nodes[0].clientUrl;
  console.log(`try: curl -X POST ${first}/kv/mykey -d '{"value":"myvalue"}'  and  curl ${first}/kv/mykey`);
}

async function down(stateDir: string): Promise<void> {
  const state = await readState(stateDir);
  if (!state) {
    console.log(`nothing to stop: no local cluster in ${stateDir}`);
    return;
  }
  if (isAlive(state.supervisor?.pid)) {
    await fetch(`${state.supervisor!.controlUrl}/shutdown`, { method: "POST" }).then((r) => r.body?.cancel())
      .catch(() => {});
    for (let i = 0; i < 100 && isAlive(state.supervisor?.pid); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  // Whatever is still alive (a crashed supervisor's orphans) goes by pid.
  let killed = 0;
  for (const pid of [state.supervisor?.pid, ...state.nodes.map((n) => n.pid)]) {
    if (isAlive(pid)) {
      Deno.kill(pid!, "SIGKILL");
      killed++;
    }
  }
  await Deno.remove(stateDir, { recursive: true });
  console.log(
    `local cluster stopped${killed ? ` (${killed} leftover processes killed)` : ""}; removed ${stateDir}`,
  );
}

async function main(): Promise<void> {
  const [command, ...rest] = Deno.args;
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        replicas: { type: "string" },
        "safety-mode": { type: "string" },
        "client-port": { type: "string" },
        "peer-port": { type: "string" },
        "auto-ports": { type: "boolean" },
        "fault-injection": { type: "boolean" },
        "state-dir": { type: "string" },
        json: { type: "boolean" },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const o = parsed.values;
  const stateDir = o["state-dir"] ?? defaultStateDir();
  const arg = parsed.positionals[0];
  const id = () => {
    const n = Number(arg);
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new UsageError(`${command} needs a node id, got "${arg ?? ""}"`);
    }
    return n;
  };
  switch (command) {
    case "up":
      return await up(stateDir, o);
    case "status":
      return await printStatus(await loadRunning(stateDir), o.json === true);
    case "scale": {
      const n = Number(arg);
      if (!Number.isSafeInteger(n) || n < 1 || n > 9) {
        throw new UsageError(`scale needs a size between 1 and 9, got "${arg ?? ""}"`);
      }
      const state = await loadRunning(stateDir);
      await control(state, "POST", "/desired", { replicas: n });
      const t0 = performance.now();
      console.log(`scaling to ${n}:`);
      await follow(stateDir, (s, settled) => settled && s.reconfig.members.length === n, 120_000);
      console.log(`done in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
      return await printStatus(await loadRunning(stateDir), false);
    }
    case "kill":
    case "pause":
    case "resume":
    case "restart": {
      const out = await control(await loadRunning(stateDir), "POST", `/nodes/${id()}/${command}`);
      console.log(out.message);
      return;
    }
    case "down":
      return await down(stateDir);
    case undefined:
    case "help":
    case "--help":
      console.log(USAGE);
      return;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

try {
  await main();
} catch (e) {
  if (e instanceof UsageError) fail(`${e.message}\n${USAGE}`, 2);
  fail(`error: ${(e as Error).message}`);
}

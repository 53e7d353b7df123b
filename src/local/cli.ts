/**
 * deno task local up [--replicas 3] [--safety-mode safe] [--client-port 8080] [--peer-port 7080]
 *                    [--auto-ports] [--fault-injection] [--disk-reserve 64MiB] [--tls]
 * deno task local status [--json] | scale N | kill ID | pause ID | resume ID | restart ID
 * deno task local start | stop | down
 *
 * A raft-kv cluster of local processes on 127.0.0.1, supervised in the background. State lives
 * in .data/local (or --state-dir): `stop` keeps it and `start` (or `up`) resumes from it, after
 * a stop, a supervisor crash or a reboot; `down` removes it.
 */
import { parseArgs } from "node:util";
import { SAFETY_MODES, type SafetyMode } from "../raft/mod.ts";
import { LocalSupervisor } from "./supervisor.ts";
import { defaultStateDir, isOurProcess, type LocalClusterState, readState } from "./state.ts";
import { portInUse } from "./ports.ts";
import { parseByteSize } from "../server/disk_alarm.ts";
import { fetchNodeStatus } from "../client/mod.ts";
import { type LogFormat, parseLogFormat } from "../server/logger.ts";
import { plainMessage } from "../cli/args.ts";
import { localHttpClient } from "../security/local_pki.ts";
import {
  assessHealth,
  type ClusterHealth,
  joining,
  leaderStatus,
  type NodeStatusView,
  processState,
  supervisorRunning,
} from "./cluster_health.ts";

const SUPERVISOR = new URL("./supervisor_main.ts", import.meta.url).pathname;

/** Reads what the supervisor appends to its log; each line without its time and level. */
export class SupervisorLogTail {
  #offset = 0;
  #pending = "";
  private constructor(private readonly path: string) {}

  /** `fromEnd`: skip what is there already (a running cluster's history). */
  static async open(stateDir: string, fromEnd: boolean): Promise<SupervisorLogTail> {
    const tail = new SupervisorLogTail(`${stateDir}/supervisor.log`);
    if (fromEnd) tail.#offset = await Deno.stat(tail.path).then((s) => s.size, () => 0);
    return tail;
  }

  async newLines(): Promise<string[]> {
    let file;
    try {
      file = await Deno.open(this.path);
    } catch {
      return []; // not written yet
    }
    try {
      await file.seek(this.#offset, Deno.SeekMode.Start);
      const chunks: Uint8Array[] = [];
      const buffer = new Uint8Array(64 * 1024);
      for (let n; (n = await file.read(buffer)) !== null;) {
        chunks.push(buffer.slice(0, n));
        this.#offset += n;
      }
      this.#pending += new TextDecoder().decode(concat(chunks));
    } finally {
      file.close();
    }
    const lines = this.#pending.split("\n");
    this.#pending = lines.pop()!;
    return lines.filter((l) => l !== "").map(messageOf);
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The message of a log line in either format (text: "<time> <level> <message>", or JSON). */
function messageOf(line: string): string {
  if (line.startsWith("{")) {
    try {
      return String((JSON.parse(line) as { message?: unknown }).message ?? line);
    } catch {
      return line;
    }
  }
  return line.replace(/^\d{4}-\d\d-\d\dT\S+ (?:(?:debug|info|warn|error) +)?/, "");
}

const USAGE = `usage: deno task local <command>
  up [--replicas N] [--safety-mode M] [--client-port P] [--peer-port P] [--auto-ports] [--fault-injection]
     [--disk-reserve SIZE] [--log-format text|json]   (json: the supervisor's and nodes' logs) [--tls]
                      start N nodes (default 3) on 127.0.0.1; returns once a leader is elected.
                      A stopped cluster in the state directory is resumed instead (as "start").
                      --tls: a cluster CA and a certificate per node in <state dir>/tls, HTTPS and
                      mutual TLS between peers, client tokens (admin, read-write, read-only)
  start               resume a stopped cluster from its state directory (after stop, a crash, a reboot)
  status [--json]     every node: role, term, commit, applied, pid, alarms; whether the cluster is
                      whole (exit code 1 while it is not: a node down, quarantined, a replacement...)
  scale N             resize through learners, catch-up, joint consensus and leader transfer,
                      printing every step of the planner as the supervisor takes it
  kill ID             SIGKILL a node (the supervisor restarts it; it recovers from its WAL)
  pause ID | resume ID   SIGSTOP / SIGCONT a node
  restart ID          stop and start a node
  stop                stop the supervisor and every node; the data stays (start resumes it)
  down                stop every process and DELETE the state directory with all data
options: --state-dir DIR (default .data/local)`;

class UsageError extends Error {}

function fail(message: string, code = 1): never {
  console.error(message);
  Deno.exit(code);
}

/** The state directory a state was read from (recorded by loadRunning). */
const stateDirs = new WeakMap<LocalClusterState, string>();
const stateDirOf = (state: LocalClusterState) => stateDirs.get(state) ?? "";

async function control(state: LocalClusterState, method: string, path: string, body?: unknown) {
  const url = state.supervisor?.controlUrl;
  if (!url || !isOurProcess(state.supervisor?.pid, stateDirOf(state))) {
    fail(
      'the local supervisor is not running (stopped or crashed): "deno task local start" resumes the cluster',
    );
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
  stateDirs.set(state, stateDir);
  return state;
}

/**
 * Prints the supervisor's log lines as they are written (every planner step and every action it takes:
 * the log has them all, where polling the state saw only what a poll happened to catch), until `done`
 * or the timeout. `tail` starts where the command began.
 */
async function follow(
  stateDir: string,
  done: (s: LocalClusterState, settled: boolean) => boolean,
  timeoutMs: number,
  tail: SupervisorLogTail,
) {
  const deadline = performance.now() + timeoutMs;
  const print = async () => {
    for (const line of await tail.newLines()) console.log(`  ${line}`);
  };
  while (performance.now() < deadline) {
    await print();
    const state = await loadRunning(stateDir);
    if (!isOurProcess(state.supervisor?.pid, stateDir)) {
      // Just started: the supervisor registers its control API in the state file shortly.
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    const { settled } = await control(state, "GET", "/state") as { settled: boolean };
    if (done(state, settled)) {
      await print();
      return state;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  fail(`timed out after ${timeoutMs / 1000}s; see ${stateDir}/supervisor.log and the node logs there`);
}

async function healthOf(stateDir: string, state: LocalClusterState): Promise<ClusterHealth> {
  const httpClient = localHttpClient(state.security);
  const nodes = await Promise.all(state.nodes.map(async (node) => {
    const process = processState(node);
    const status = process === "dead" || process === "stopped"
      ? undefined
      : await fetchNodeStatus<NodeStatusView>(node.clientUrl, undefined, httpClient);
    return { node, process, status };
  }));
  httpClient?.close();
  return assessHealth(state, supervisorRunning(state, stateDir), nodes);
}

/** Prints the cluster; returns whether it is whole. */
async function printStatus(stateDir: string, state: LocalClusterState, json: boolean): Promise<boolean> {
  const health = await healthOf(stateDir, state);
  if (json) {
    console.log(
      JSON.stringify(
        {
          clusterId: state.clusterId,
          safetyMode: state.safetyMode,
          desiredReplicas: state.desiredReplicas,
          whole: health.whole,
          problems: health.problems,
          supervisor: { running: health.supervisorRunning, pid: state.supervisor?.pid },
          reconfig: state.reconfig,
          nodes: health.nodes,
        },
        null,
        2,
      ),
    );
    return health.whole;
  }
  const sup = health.supervisorRunning
    ? `supervisor pid ${state.supervisor!.pid}`
    : `supervisor NOT running${state.supervisor?.pid ? ` (pid ${state.supervisor.pid} is gone)` : ""}`;
  console.log(
    `cluster "${state.clusterId}" (${state.safetyMode}), ${state.desiredReplicas} desired, phase ${state.reconfig.phase}, ${sup}`,
  );
  const header = [
    "id",
    "slot",
    "role",
    "term",
    "commit",
    "applied",
    "pid",
    "process",
    "alarms",
    "client URL",
  ];
  const leader = leaderStatus(health.nodes);
  const table = health.nodes.map(({ node: n, process, status: s }) => [
    String(n.id),
    String(n.slot),
    s?.quarantined ? (joining(state, n.id, s, leader) ? "joining" : "quarantined") : s?.role ?? "down",
    String(s?.term ?? "-"),
    String(s?.commit ?? "-"),
    String(s?.applied ?? "-"),
    String(n.pid ?? "-"),
    process,
    [
      s?.quarantined && !joining(state, n.id, s, leader) ? "LOST-STORAGE" : "",
      s?.diskAlarm?.raised ? "NOSPACE" : "",
    ]
      .filter(Boolean).join(",") ||
    "-",
    n.clientUrl,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ");
  console.log(line(header));
  for (const r of table) console.log(line(r));
  const conf = health.nodes.find((r) => r.status?.role === "leader")?.status?.conf;
  if (conf) {
    console.log(
      `voters [${conf.voters}]${conf.learners.length ? `, learners [${conf.learners}]` : ""}${
        conf.joint ? " (joint)" : ""
      }`,
    );
  }
  if (health.whole) console.log("whole: every node is a healthy voter");
  else {
    console.log("NOT WHOLE:");
    for (const p of health.problems) console.log(`  - ${p}`);
  }
  return health.whole;
}

/** Starts the background supervisor on an existing state directory. */
function spawnSupervisor(stateDir: string, logFormat: LogFormat = "text"): number {
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
      "--log-format",
      logFormat,
    ],
    // The nodes the supervisor starts inherit it: their logs (node-N.log) take the same format.
    env: { RAFTKV_LOG_FORMAT: logFormat },
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  child.unref();
  return child.pid;
}

/** Resumes a stopped cluster: its nodes recover from their own storage. */
async function start(stateDir: string): Promise<void> {
  const state = await readState(stateDir);
  if (!state) fail(`no local cluster in ${stateDir}: create one with "deno task local up"`);
  if (isOurProcess(state.supervisor?.pid, stateDir)) {
    console.log(
      `the local cluster in ${stateDir} is already running (supervisor pid ${state.supervisor!.pid})`,
    );
    return;
  }
  const leftovers = state.nodes.filter((n) => isOurProcess(n.pid, n.dataDir)).length;
  const tail = await SupervisorLogTail.open(stateDir, true);
  const pid = spawnSupervisor(stateDir);
  console.log(
    `resuming the local cluster in ${stateDir} (${state.nodes.length} nodes, data kept); supervisor pid ${pid}` +
      (leftovers ? `; ${leftovers} node processes of the previous supervisor are restarted` : ""),
  );
  const t0 = performance.now();
  await follow(stateDir, (s) => s.supervisor?.pid === pid, 30_000, tail);
  // The persisted status said "steady" before the stop: wait for the nodes themselves.
  let health: ClusterHealth | undefined;
  while (performance.now() - t0 < 90_000) {
    health = await healthOf(stateDir, await loadRunning(stateDir));
    if (health.whole) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  if (!health?.whole) {
    fail(
      `the cluster is not whole after 90s: ${health?.problems.join("; ")} (see ${stateDir}/supervisor.log)`,
    );
  }
  const resumed = await loadRunning(stateDir);
  console.log(`cluster back in ${((performance.now() - t0) / 1000).toFixed(1)}s:`);
  for (const n of resumed.nodes) console.log(`  node ${n.id}: ${n.clientUrl}`);
}

/** Stops the supervisor and every node; keeps the data. */
async function stop(stateDir: string): Promise<number> {
  const state = await readState(stateDir);
  if (!state) {
    console.log(`nothing to stop: no local cluster in ${stateDir}`);
    return 0;
  }
  if (isOurProcess(state.supervisor?.pid, stateDir)) {
    await fetch(`${state.supervisor!.controlUrl}/shutdown`, { method: "POST" }).then((r) => r.body?.cancel())
      .catch(() => {});
    for (let i = 0; i < 100 && isOurProcess(state.supervisor?.pid, stateDir); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  // Whatever is still alive (a crashed supervisor's orphans, or one that did not stop) goes by pid.
  let killed = 0;
  if (isOurProcess(state.supervisor?.pid, stateDir)) {
    Deno.kill(state.supervisor!.pid, "SIGKILL");
    killed++;
  }
  for (const n of state.nodes) {
    if (isOurProcess(n.pid, n.dataDir)) {
      Deno.kill(n.pid!, "SIGKILL");
      killed++;
    }
  }
  return killed;
}

async function up(stateDir: string, o: Record<string, string | boolean | undefined>): Promise<void> {
  const existing = await readState(stateDir);
  if (existing) {
    if (isOurProcess(existing.supervisor?.pid, stateDir)) {
      fail(`a local cluster is already up (deno task local status; stop or down to stop it)`);
    }
    if (o.replicas !== undefined || o["safety-mode"] !== undefined) {
      console.log(`${stateDir} holds a stopped cluster: resuming it as it was (its options stay)`);
    }
    return await start(stateDir);
  }
  const replicas = Number(o.replicas ?? 3);
  const mode = String(o["safety-mode"] ?? "safe") as SafetyMode;
  if (!SAFETY_MODES.includes(mode)) {
    throw new UsageError(`--safety-mode must be one of ${SAFETY_MODES.join(", ")}`);
  }
  let logFormat: LogFormat;
  try {
    logFormat = parseLogFormat(String(o["log-format"] ?? "text"));
  } catch (e) {
    throw new UsageError((e as Error).message);
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
  const diskReserve = o["disk-reserve"] === undefined ? undefined : String(o["disk-reserve"]);
  if (diskReserve !== undefined) {
    try {
      parseByteSize(diskReserve);
    } catch (e) {
      throw new UsageError(`--disk-reserve: ${(e as Error).message}`);
    }
  }
  await LocalSupervisor.initialize(stateDir, {
    replicas,
    safetyMode: mode,
    ports,
    faultInjection: o["fault-injection"] === true,
    diskReserve,
    tls: o.tls === true,
  });
  const pid = spawnSupervisor(stateDir, logFormat);
  console.log(
    `starting ${replicas} raft-kv nodes (${mode}); supervisor pid ${pid}, state in ${stateDir}`,
  );
  const t0 = performance.now();
  const state = await follow(
    stateDir,
    (_, settled) => settled,
    90_000,
    await SupervisorLogTail.open(stateDir, false),
  );
  console.log(`cluster up in ${((performance.now() - t0) / 1000).toFixed(1)}s:`);
  for (const n of state.nodes) console.log(`  node ${n.id}: ${n.clientUrl}   (peers: ${n.peerAddress})`);
  const first = state.nodes[0].clientUrl;
  const security = state.security;
  if (security) {
    console.log(
      `TLS on (CA: ${security.caFile}); client tokens in ${security.authFile}; deno task kv finds both`,
    );
    const auth =
      `--cacert ${security.caFile} -H "Authorization: Bearer $(jq -r .security.tokens.readWrite ${stateDir}/cluster.json)"`;
    console.log(`try: curl ${auth} -X POST ${first}/kv/mykey -d '{"value":"myvalue"}'`);
  } else {
    console.log("running WITHOUT TLS or client authentication (deno task local up --tls turns both on)");
    console.log(`try: curl -X POST ${first}/kv/mykey -d '{"value":"myvalue"}'  and  curl ${first}/kv/mykey`);
  }
}

async function down(stateDir: string): Promise<void> {
  const state = await readState(stateDir);
  if (!state) {
    console.log(`nothing to remove: no local cluster in ${stateDir}`);
    return;
  }
  const killed = await stop(stateDir);
  await Deno.remove(stateDir, { recursive: true });
  console.log(
    `local cluster stopped${killed ? ` (${killed} leftover processes killed)` : ""}; ` +
      `removed ${stateDir} with all its data (use "stop" to keep it)`,
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
        "disk-reserve": { type: "string" },
        "log-format": { type: "string" },
        tls: { type: "boolean" },
        json: { type: "boolean" },
      },
    });
  } catch (e) {
    throw new UsageError(plainMessage(e));
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
    case "status": {
      const whole = await printStatus(stateDir, await loadRunning(stateDir), o.json === true);
      if (!whole) Deno.exit(1);
      return;
    }
    case "start":
      return await start(stateDir);
    case "stop": {
      if (!(await readState(stateDir))) {
        console.log(`nothing to stop: no local cluster in ${stateDir}`);
        return;
      }
      const killed = await stop(stateDir);
      console.log(
        `local cluster stopped${killed ? ` (${killed} leftover processes killed)` : ""}; its data stays in ` +
          `${stateDir}: "deno task local start" resumes it, "deno task local down" deletes it`,
      );
      return;
    }
    case "scale": {
      const n = Number(arg);
      if (!Number.isSafeInteger(n) || n < 1 || n > 9) {
        throw new UsageError(`scale needs a size between 1 and 9, got "${arg ?? ""}"`);
      }
      const state = await loadRunning(stateDir);
      const tail = await SupervisorLogTail.open(stateDir, true);
      await control(state, "POST", "/desired", { replicas: n });
      const t0 = performance.now();
      console.log(`scaling to ${n}:`);
      await follow(stateDir, (s, settled) => settled && s.reconfig.members.length === n, 120_000, tail);
      console.log(`done in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
      await printStatus(stateDir, await loadRunning(stateDir), false);
      return;
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
  if (e instanceof UsageError) fail(`error: ${e.message}\nrun \`deno task local --help\` for the options`, 2);
  fail(`error: ${(e as Error).message}`);
}

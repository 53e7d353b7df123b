/**
 * deno task fault <command> [--state-dir DIR] | --kube [--namespace NS] NAME <command>
 *
 * Injects one fault into a running cluster, prints what it did and how to undo it. Network faults
 * are set on each node's own fault endpoint (the transport judges every message in and out), so
 * they need a cluster started with fault injection; everything is refused otherwise.
 */
import { parseArgs } from "node:util";
import { defaultStateDir } from "../../src/local/state.ts";
import { fetchNodeStatus } from "../../src/client/mod.ts";
import type { FaultState } from "../../src/client/wire_types.ts";
import { type FaultNode, FaultRefused, type FaultTarget } from "./target.ts";
import { LocalTarget } from "./local_target.ts";
import { KubeTarget } from "./kube_target.ts";

export const USAGE = `usage: deno task fault <command> [--state-dir DIR]
       deno task fault --kube [--namespace NS] NAME <command>
commands:
  partition A B    cut every link between node groups A and B, e.g. partition 1,2 3,4,5
  heal             clear every network fault (partitions, delays, losses) on every node
  leader-kill      SIGKILL the node that leads now
  kill N           SIGKILL node N (the local supervisor restarts it after 200 ms)
  pause N          SIGSTOP node N (local only)        resume N   SIGCONT it
  delay N 200ms    hold every message to and from node N for 200 ms (--jitter 50ms adds up to 50 ms)
  loss N 10%       drop 10% of the messages to and from node N
  wipe N           SIGKILL node N and delete its storage: it comes back empty, under the same id
  refuse-admin N   node N's admin API answers 503 (all but /admin/faults) until heal: an operator that cannot reach it
  status           every node: role, term, leader, process, the faults it injects
options:
  --state-dir DIR  the local cluster's state directory (default .data/local)
  --kube NAME      act on RaftCluster NAME through its pods' fault endpoints (http://<pod IP>:8081/admin/faults,
                   admin token from Secret NAME-tokens); needs a kubeconfig and a route to the pod network
  --namespace NS   the RaftCluster's namespace (default: the kubeconfig context's)
Fault commands are refused unless the cluster runs with fault injection (deno task local up --fault-injection;
a RaftCluster with spec.faultInjection: true).`;

export class UsageError extends Error {}

/** Parses the command line into a command and its arguments (throws UsageError). */
export function parseCommand(args: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        "state-dir": { type: "string" },
        kube: { type: "boolean", default: false },
        namespace: { type: "string" },
        jitter: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true as const };
  const rest = [...positionals];
  const kubeName = values.kube ? rest.shift() : undefined;
  if (values.kube && !kubeName) {
    throw new UsageError("--kube needs the RaftCluster's name before the command");
  }
  if (!values.kube && values.namespace) throw new UsageError("--namespace goes with --kube");
  if (values.kube && values["state-dir"]) {
    throw new UsageError("--state-dir is for the local cluster, not --kube");
  }
  const [command, ...params] = rest;
  const want = (n: number, shape: string) => {
    if (params.length !== n) throw new UsageError(`${command} takes ${shape}`);
  };
  const id = (text: string) => {
    if (!/^[1-9]\d*$/.test(text)) throw new UsageError(`a node id is a positive integer, got "${text}"`);
    return Number(text);
  };
  const group = (text: string) => text.split(",").map((t) => id(t.trim()));
  let op:
    | { kind: "partition"; a: number[]; b: number[] }
    | { kind: "heal" | "leader-kill" | "status" }
    | { kind: "kill" | "pause" | "resume" | "wipe" | "refuse-admin"; id: number }
    | { kind: "delay"; id: number; ms: number; jitterMs: number }
    | { kind: "loss"; id: number; probability: number };
  switch (command) {
    case "partition": {
      want(2, "two groups of node ids, e.g. partition 1,2 3,4,5");
      const a = group(params[0]), b = group(params[1]);
      const both = a.filter((x) => b.includes(x));
      if (both.length) throw new UsageError(`node ${both[0]} is in both groups`);
      op = { kind: "partition", a, b };
      break;
    }
    case "heal":
    case "leader-kill":
    case "status":
      want(0, "no arguments");
      op = { kind: command };
      break;
    case "kill":
    case "pause":
    case "resume":
    case "wipe":
    case "refuse-admin":
      want(1, `one node id, e.g. ${command} 2`);
      op = { kind: command, id: id(params[0]) };
      break;
    case "delay": {
      want(2, "a node id and a duration, e.g. delay 2 200ms");
      const ms = duration(params[1]);
      const jitterMs = values.jitter === undefined ? 0 : duration(values.jitter);
      op = { kind: "delay", id: id(params[0]), ms, jitterMs };
      break;
    }
    case "loss": {
      want(2, "a node id and a percentage, e.g. loss 2 10%");
      const m = params[1].match(/^(\d+(?:\.\d+)?)%$/);
      if (!m || Number(m[1]) > 100) {
        throw new UsageError(`loss takes a percentage from 0% to 100%, got "${params[1]}"`);
      }
      op = { kind: "loss", id: id(params[0]), probability: Number(m[1]) / 100 };
      break;
    }
    case undefined:
      throw new UsageError("which fault?");
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
  if (values.jitter !== undefined && op.kind !== "delay") throw new UsageError("--jitter goes with delay");
  return {
    help: false as const,
    op,
    kube: kubeName ? { name: kubeName, namespace: values.namespace } : undefined,
    stateDir: values["state-dir"] ?? defaultStateDir(),
  };
}

function duration(text: string): number {
  const m = text.match(/^(\d+(?:\.\d+)?)(ms|s)$/);
  if (!m) throw new UsageError(`a duration looks like 200ms or 1.5s, got "${text}"`);
  const ms = Number(m[1]) * (m[2] === "s" ? 1000 : 1);
  if (ms > 60_000) throw new UsageError(`a delay of more than 60 s is a partition: got ${text}`);
  return Math.round(ms);
}

function describeFaults(f: FaultState | undefined): string {
  if (!f) return "-";
  const parts: string[] = [];
  if (f.isolated) parts.push("isolated");
  if (f.adminRefused) parts.push("admin API refuses calls");
  if (f.partitioned.length) parts.push(`cut from [${f.partitioned}]`);
  for (const d of f.delay) parts.push(`delay ${d.ms}ms${d.jitterMs ? `+${d.jitterMs}` : ""} to ${d.peer}`);
  for (const d of f.drop) parts.push(`loss ${Math.round(d.probability * 100)}% to ${d.peer}`);
  return parts.join(", ") || "none";
}

async function leaderOf(nodes: FaultNode[]): Promise<FaultNode | undefined> {
  let best: { node: FaultNode; term: number } | undefined;
  for (const node of nodes) {
    const s = await fetchNodeStatus<{ role?: string; term?: number }>(node.url, 1000);
    if (s?.role === "leader" && (!best || (s.term ?? 0) > best.term)) best = { node, term: s.term ?? 0 };
  }
  return best?.node;
}

/** Runs one parsed command against a target; returns the lines to print. */
export async function execute(
  target: FaultTarget,
  op: ReturnType<typeof parseCommand> & { help: false },
): Promise<string[]> {
  const o = op.op;
  const nodes = await target.nodes();
  const byId = (id: number) => {
    const n = nodes.find((x) => x.id === id);
    if (!n) {
      throw new UsageError(
        `no node ${id} in ${target.description} (nodes: ${nodes.map((x) => x.id).join(", ")})`,
      );
    }
    return n;
  };
  if (o.kind === "status") return await status(target, nodes);
  if (!(await target.faultInjection())) {
    throw new FaultRefused(
      `${target.description} runs without fault injection, so "${o.kind}" is refused: ${target.enableHint}`,
    );
  }
  const others = (id: number) => nodes.filter((n) => n.id !== id).map((n) => n.id);
  const heal = `undo: ${target.command} heal`;
  switch (o.kind) {
    case "partition": {
      const a = o.a.map(byId), b = o.b.map(byId);
      for (const n of a) await target.inject(n, { action: "partition", peers: o.b });
      for (const n of b) await target.inject(n, { action: "partition", peers: o.a });
      return [`partitioned [${o.a}] | [${o.b}]: each side drops every message to and from the other`, heal];
    }
    case "heal": {
      const lines: string[] = [];
      for (const n of nodes) {
        try {
          await target.inject(n, { action: "heal" });
          lines.push(`healed ${n.label}: no partition, delay or loss left`);
        } catch (e) {
          lines.push(`${n.label}: not healed (${(e as Error).message}); run heal again once it answers`);
        }
      }
      return [...lines, "paused nodes stay paused: resume them with resume N"];
    }
    case "leader-kill": {
      const leader = await leaderOf(nodes);
      if (!leader) throw new Error(`no node of ${target.description} leads right now`);
      return [
        `${leader.label} led; ${await target.kill(leader)}`,
        "undo: none needed (it comes back by itself)",
      ];
    }
    case "kill":
      return [await target.kill(byId(o.id)), "undo: none needed (it comes back by itself)"];
    case "pause":
      return [await target.pause(byId(o.id)), `undo: ${target.command} resume ${o.id}`];
    case "resume":
      return [await target.resume(byId(o.id)), "undo: nothing (the node runs again)"];
    case "wipe":
      return [
        await target.wipe(byId(o.id)),
        "undo: none: the data is gone; safe mode keeps the empty node from voting until it is replaced",
      ];
    case "delay": {
      const n = byId(o.id);
      for (const peer of others(o.id)) {
        await target.inject(n, { action: "delay", peer, ms: o.ms, jitterMs: o.jitterMs });
      }
      return [
        `${n.label} holds every message to and from [${others(o.id)}] for ${o.ms} ms${
          o.jitterMs ? ` plus up to ${o.jitterMs} ms` : ""
        }`,
        `undo: ${target.command} heal (or delay ${o.id} 0ms)`,
      ];
    }
    case "refuse-admin": {
      const n = byId(o.id);
      await target.inject(n, { action: "refuse-admin" });
      return [
        `${n.label}'s admin API answers 503 to every call but /admin/faults (as if an operator could not reach it); peer traffic flows`,
        `undo: ${target.command} heal`,
      ];
    }
    case "loss": {
      const n = byId(o.id);
      for (const peer of others(o.id)) {
        await target.inject(n, { action: "drop", peer, probability: o.probability });
      }
      return [
        `${n.label} drops ${+(o.probability * 100).toFixed(2)}% of the messages to and from [${
          others(o.id)
        }]`,
        `undo: ${target.command} heal (or loss ${o.id} 0%)`,
      ];
    }
  }
}

async function status(target: FaultTarget, nodes: FaultNode[]): Promise<string[]> {
  const rows = await Promise.all(nodes.map(async (n) => {
    const s = await fetchNodeStatus<Record<string, unknown>>(n.url, 1000);
    const faults = await target.faults(n).catch((e) => e instanceof FaultRefused ? undefined : undefined);
    return [
      n.label,
      s ? String(s.role) + (s.quarantined ? " (quarantined)" : "") : "not answering",
      String(s?.term ?? "-"),
      String(s?.leader ?? "-"),
      String(s?.commit ?? "-"),
      await target.process(n).catch(() => "?"),
      describeFaults(faults),
    ];
  }));
  const header = ["node", "role", "term", "leader", "commit", "process", "faults"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  const injection = await target.faultInjection().catch(() => false);
  return [
    `${target.description}: fault injection ${injection ? "on" : `off (${target.enableHint})`}`,
    line(header),
    ...rows.map(line),
  ];
}

if (import.meta.main) {
  let parsed;
  try {
    parsed = parseCommand(Deno.args);
  } catch (e) {
    console.error(`fault: ${(e as Error).message} (deno task fault --help for usage)`);
    Deno.exit(2);
  }
  if (parsed.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  try {
    const target = parsed.kube
      ? await KubeTarget.open(parsed.kube.name, parsed.kube.namespace)
      : await LocalTarget.open(parsed.stateDir);
    for (const line of await execute(target, parsed)) console.log(line);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`fault: ${e.message} (deno task fault --help for usage)`);
      Deno.exit(2);
    }
    console.error(`fault: ${e instanceof FaultRefused ? "refused: " : ""}${(e as Error).message}`);
    Deno.exit(1);
  }
}

/**
 * A small script language for protocol scenarios, one file per scenario (in the spirit of
 * etcd-io/raft's datadriven tests, but self-checking: `expect` lines assert instead of
 * comparing printed output). Each line is one command; `#` starts a comment.
 *
 *   mode unsafe-early-vote             safety mode (first command only; default safe)
 *   seed 7                             simulator seed (first commands only; default 1)
 *   snapshot-every 20 [retain 0]       automatic snapshots (first commands only)
 *   bootstrap 1 2 3                    initial voters
 *   add-node 4                         start an empty node
 *   campaign 1                         node 1 starts an election now
 *   propose 1 key=value [count N]      propose on node 1 (N commands key=value-0..N-1)
 *   conf-change 1 addLearner 4         a simple change; ops: addVoter N, addLearner N, remove N
 *   conf-change 1 joint addVoter 4 remove 1
 *   conf-change 1 leave                leave the joint configuration
 *   adopt-config 3 voters 1 2 3 4 5    unsafe-no-joint: node 3 takes a configuration out of log
 *   transfer 1 4                       ask node 1 to hand leadership to node 4
 *   read 1 ctx                         linearizable read on node 1 with context "ctx"
 *   stabilize                          deliver messages until the network is quiet (no ticks)
 *   deliver [N]                        deliver only what is in flight now (N rounds)
 *   run 500                            advance 500 virtual ms (ticks, heartbeats, elections)
 *   tick 1 [N]                         tick node 1 (N times)
 *   partition 1 2 | 3 4 5              cut links between the groups
 *   isolate 3 / heal                   cut node 3 off / restore every link
 *   crash 2 / restart 2 / crash-torn 2  crash-torn also tears the oldest unfinished disk write
 *   wipe 2                             node 2's disk is lost: it restarts empty under its old id
 *   hold-disk 3                        node 3's disk writes stop completing (a Ready stays outstanding)
 *   release-disk 3 [N]                 complete node 3's held writes (the first N), in order
 *   send-snapshot 1 3                  node 1 sends its newest snapshot to node 3 now
 *   compact 1                          node 1 snapshots at its applied index and compacts
 *   expect leader 1 | expect leader-among 2 3 | expect no-leader
 *   expect role 4 follower
 *   expect term 1 3
 *   expect commit 5 on 1 2 3           also: applied, last-index, snapshot-index
 *   expect value key=value on 1 2 3    (value "-" means the key is absent)
 *   expect conf 4 voters 1 2 3 | outgoing 1 2 | learners 4 | next
 *   expect read ctx index 5 on 1       node 1 got read state ctx at index 5
 *   expect quarantined 4 yes|no        whether node 4 may not vote (lost or new storage)
 *   expect pending-writes 3 N          node 3 has N disk writes not yet durable
 *   expect error <text>                the previous command failed with a message containing text
 *   expect violations 0 | expect violation StateMachineSafety
 *   print status | print trace         (debugging aid)
 */
import {
  type ConfChange,
  type ConfChangeOp,
  type NodeId,
  parseSafetyMode,
  type SafetyMode,
} from "../raft/mod.ts";
import { SimCluster, type SimNode } from "./cluster.ts";
import { encodeCommand } from "./state_machine.ts";

export class ScenarioError extends Error {
  override name = "ScenarioError";
}

export interface ScenarioResult {
  cluster: SimCluster;
  output: string[];
}

interface Line {
  number: number;
  words: string[];
  text: string;
}

function parseLines(source: string): Line[] {
  return source.split("\n").map((raw, i) => ({ raw: raw.replace(/#.*/, "").trim(), number: i + 1 }))
    .filter((l) => l.raw.length > 0)
    .map((l) => ({ number: l.number, text: l.raw, words: l.raw.split(/\s+/) }));
}

function int(word: string | undefined, what: string): number {
  const n = Number(word);
  if (word === undefined || !Number.isInteger(n)) {
    throw new ScenarioError(`expected ${what}, got "${word ?? ""}"`);
  }
  return n;
}

function ids(words: string[], what = "node ids"): NodeId[] {
  if (words.length === 0) throw new ScenarioError(`expected ${what}`);
  return words.map((w) => int(w, "a node id"));
}

/** Splits "... on 1 2 3" into the part before and the ids after. */
function splitOn(words: string[]): { head: string[]; nodes: NodeId[] | undefined } {
  const at = words.indexOf("on");
  if (at < 0) return { head: words, nodes: undefined };
  return { head: words.slice(0, at), nodes: ids(words.slice(at + 1)) };
}

function parseOps(words: string[]): ConfChangeOp[] {
  const ops: ConfChangeOp[] = [];
  for (let i = 0; i < words.length; i += 2) {
    const op = words[i];
    if (op !== "addVoter" && op !== "addLearner" && op !== "remove") {
      throw new ScenarioError(`unknown configuration op "${op}" (addVoter, addLearner, remove)`);
    }
    ops.push({ op, node: int(words[i + 1], `a node id after ${op}`) });
  }
  return ops;
}

const sameIds = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length &&
  [...a].sort((x, y) => x - y).every((v, i) => v === [...b].sort((x, y) => x - y)[i]);

export function runScenario(source: string): ScenarioResult {
  const lines = parseLines(source);
  let mode: SafetyMode = "safe";
  let seed = 1;
  let snapshotEvery = 0, retainEntries = 0;
  let k = 0;
  for (; k < lines.length; k++) {
    const [cmd, a, b, c] = lines[k].words;
    if (cmd === "mode") mode = parseSafetyMode(a);
    else if (cmd === "seed") seed = int(a, "a seed");
    else if (cmd === "snapshot-every") {
      snapshotEvery = int(a, "an entry count");
      if (b === "retain") retainEntries = int(c, "an entry count");
    } else break;
  }
  const cluster = new SimCluster({ seed, mode, snapshotEvery, retainEntries, trace: true, traceLimit: 2000 });
  const output: string[] = [];
  let lastError: Error | undefined;

  const node = (id: number): SimNode => {
    const n = cluster.nodes.get(id);
    if (!n) throw new ScenarioError(`no node ${id}`);
    return n;
  };
  const result = (r: number | Error | undefined) => {
    lastError = r instanceof Error ? r : undefined;
  };

  for (; k < lines.length; k++) {
    const line = lines[k];
    const [cmd, ...args] = line.words;
    try {
      if (cmd !== "expect") lastError = undefined;
      switch (cmd) {
        case "bootstrap":
          cluster.bootstrap(ids(args));
          break;
        case "add-node":
          for (const id of ids(args)) cluster.addNode(id);
          break;
        case "campaign": {
          const n = node(int(args[0], "a node id"));
          n.raft.campaign();
          cluster.processReady(n);
          break;
        }
        case "propose": {
          const id = int(args[0], "a node id");
          const [key, value] = (args[1] ?? "").split("=");
          if (!key || value === undefined) {
            throw new ScenarioError(`expected key=value, got "${args[1] ?? ""}"`);
          }
          const count = args[2] === "count" ? int(args[3], "a count") : 1;
          for (let i = 0; i < count; i++) {
            result(cluster.propose(id, encodeCommand(key, count > 1 ? `${value}-${i}` : value)));
            if (lastError) break;
          }
          break;
        }
        case "conf-change": {
          const id = int(args[0], "a node id");
          let change: ConfChange;
          if (args[1] === "leave") change = { ops: [], joint: false };
          else if (args[1] === "joint") change = { ops: parseOps(args.slice(2)), joint: true };
          else change = { ops: parseOps(args.slice(1)), joint: false };
          result(cluster.proposeConfChange(id, change));
          break;
        }
        case "adopt-config": {
          const id = int(args[0], "a node id");
          if (args[1] !== "voters") throw new ScenarioError("usage: adopt-config N voters ID...");
          try {
            cluster.adoptConfigUnsafe(id, {
              voters: ids(args.slice(2)),
              votersOutgoing: [],
              learners: [],
              learnersNext: [],
            });
          } catch (e) {
            result(e as Error);
          }
          break;
        }
        case "transfer":
          result(cluster.transferLeadership(int(args[0], "a node id"), int(args[1], "a target id")));
          break;
        case "read": {
          const n = node(int(args[0], "a node id"));
          try {
            n.raft.readIndex(args[1] ?? "read");
            cluster.processReady(n);
          } catch (e) {
            result(e as Error);
          }
          break;
        }
        case "stabilize":
          cluster.deliverAll();
          break;
        case "deliver": {
          const rounds = args[0] ? int(args[0], "a round count") : 1;
          for (let i = 0; i < rounds; i++) cluster.deliverRound();
          break;
        }
        case "run":
          cluster.runFor(int(args[0], "milliseconds"));
          break;
        case "tick": {
          const n = node(int(args[0], "a node id"));
          const times = args[1] ? int(args[1], "a count") : 1;
          for (let i = 0; i < times; i++) {
            n.raft.tick();
            cluster.processReady(n);
          }
          break;
        }
        case "partition": {
          const groups = args.join(" ").split("|").map((g) => ids(g.trim().split(/\s+/).filter(Boolean)));
          cluster.net.partition(groups);
          break;
        }
        case "isolate":
          for (const id of ids(args)) cluster.net.isolate(id, cluster.nodes.keys());
          break;
        case "heal":
          cluster.net.heal();
          break;
        case "crash":
          for (const id of ids(args)) cluster.crash(id);
          break;
        case "crash-torn":
          for (const id of ids(args)) cluster.crash(id, true);
          break;
        case "wipe":
          for (const id of ids(args)) cluster.wipe(id);
          break;
        case "hold-disk":
          for (const id of ids(args)) node(id).store.hold();
          break;
        case "release-disk":
          node(int(args[0], "a node id")).store.release(args[1] ? int(args[1], "a write count") : Infinity);
          break;
        case "send-snapshot":
          result(cluster.sendSnapshot(int(args[0], "a node id"), int(args[1], "a target id")));
          break;
        case "restart":
          for (const id of ids(args)) cluster.restart(id);
          break;
        case "compact":
          cluster.compact(int(args[0], "a node id"));
          break;
        case "expect":
          expect(cluster, args, lastError, node);
          break;
        case "print":
          if (args[0] === "trace") output.push(...cluster.traceLines);
          else {
            for (const n of cluster.nodes.values()) {
              output.push(JSON.stringify({ alive: n.alive, ...n.raft.status() }));
            }
          }
          break;
        default:
          throw new ScenarioError(`unknown command "${cmd}"`);
      }
    } catch (e) {
      const trace = cluster.traceLines.slice(-60).join("\n");
      const message = e instanceof ScenarioError ? e.message : `${(e as Error).stack ?? e}`;
      throw new ScenarioError(
        `line ${line.number} "${line.text}": ${message}\n--- last trace lines ---\n${trace}`,
      );
    }
  }
  return { cluster, output };
}

function expect(
  cluster: SimCluster,
  args: string[],
  lastError: Error | undefined,
  node: (id: number) => SimNode,
): void {
  const [what, ...rest] = args;
  const fail = (message: string) => {
    throw new ScenarioError(`expectation failed: ${message}`);
  };
  switch (what) {
    case "leader": {
      const want = int(rest[0], "a node id");
      const got = cluster.leader();
      if (got?.id !== want) fail(`leader ${want}, but it is ${got ? got.id : "nobody"}`);
      return;
    }
    case "leader-among": {
      const allowed = ids(rest);
      const got = cluster.leader();
      if (!got || !allowed.includes(got.id)) {
        fail(`a leader among [${allowed}], got ${got ? got.id : "nobody"}`);
      }
      return;
    }
    case "no-leader": {
      const got = cluster.leader();
      if (got) fail(`no leader, but node ${got.id} leads term ${got.raft.term}`);
      return;
    }
    case "role": {
      const n = node(int(rest[0], "a node id"));
      if (n.raft.role !== rest[1]) fail(`node ${n.id} is ${n.raft.role}, expected ${rest[1]}`);
      return;
    }
    case "term": {
      const n = node(int(rest[0], "a node id"));
      const want = int(rest[1], "a term");
      if (n.raft.term !== want) fail(`node ${n.id} is at term ${n.raft.term}, expected ${want}`);
      return;
    }
    case "commit":
    case "applied":
    case "last-index":
    case "snapshot-index": {
      const { head, nodes } = splitOn(rest);
      const want = int(head[0], "an index");
      for (const id of nodes ?? [...cluster.nodes.keys()]) {
        const r = node(id).raft;
        const got = what === "commit"
          ? r.commitIndex
          : what === "applied"
          ? r.appliedIndex
          : what === "last-index"
          ? r.lastIndex
          : r.snapshotIndex;
        if (got !== want) fail(`node ${id} has ${what} ${got}, expected ${want}`);
      }
      return;
    }
    case "value": {
      const { head, nodes } = splitOn(rest);
      const [key, value] = (head[0] ?? "").split("=");
      for (const id of nodes ?? [...cluster.nodes.keys()]) {
        const got = node(id).sm.data.get(key);
        if ((value === "-" ? undefined : value) !== got) {
          fail(`node ${id} has ${key}=${got ?? "-"}, expected ${value}`);
        }
      }
      return;
    }
    case "quarantined": {
      const n = node(int(rest[0], "a node id"));
      if (rest[1] !== "yes" && rest[1] !== "no") {
        throw new ScenarioError("usage: expect quarantined N yes|no");
      }
      const got = n.driver?.quarantined ? "yes" : "no";
      if (got !== rest[1]) fail(`node ${n.id} quarantined: ${got}, expected ${rest[1]}`);
      return;
    }
    case "pending-writes": {
      const n = node(int(rest[0], "a node id"));
      const want = int(rest[1], "a write count");
      const got = n.store.pendingWrites;
      if (got.length !== want) {
        fail(`node ${n.id} has ${got.length} pending writes [${got.join("; ")}], expected ${want}`);
      }
      return;
    }
    case "conf": {
      const n = node(int(rest[0], "a node id"));
      const cs = n.raft.confState();
      const parts = rest.slice(1).join(" ").split("|").map((p) => p.trim().split(/\s+/).filter(Boolean));
      const seen = new Set<string>();
      for (const [field, ...values] of parts) {
        const want = values.map((v) => int(v, "a node id"));
        const key = ({
          voters: "voters",
          outgoing: "votersOutgoing",
          learners: "learners",
          next: "learnersNext",
        } as const)[
          field as "voters"
        ];
        if (!key) throw new ScenarioError(`unknown conf field "${field}" (voters, outgoing, learners, next)`);
        seen.add(key);
        if (!sameIds(cs[key], want)) fail(`node ${n.id} has ${field} [${cs[key]}], expected [${want}]`);
      }
      for (const key of ["votersOutgoing", "learners", "learnersNext"] as const) {
        if (!seen.has(key) && cs[key].length) fail(`node ${n.id} has ${key} [${cs[key]}], expected none`);
      }
      return;
    }
    case "read": {
      const context = rest[0];
      const { head, nodes } = splitOn(rest.slice(1));
      const want = head[0] === "index" ? int(head[1], "an index") : undefined;
      for (const id of nodes ?? []) {
        const rs = node(id).reads.find((r) => r.context === context);
        if (!rs) fail(`node ${id} has no read state for ${context}`);
        else if (want !== undefined && rs.index !== want) {
          fail(`read ${context} on ${id} at ${rs.index}, expected ${want}`);
        }
      }
      return;
    }
    case "no-read": {
      const context = rest[0];
      const { nodes } = splitOn(rest.slice(1));
      for (const id of nodes ?? []) {
        if (node(id).reads.some((r) => r.context === context)) {
          fail(`node ${id} unexpectedly served read ${context}`);
        }
      }
      return;
    }
    case "error": {
      const text = rest.join(" ");
      if (!lastError) fail(`an error containing "${text}", but the previous command succeeded`);
      else if (!lastError.message.includes(text)) {
        fail(`an error containing "${text}", got "${lastError.message}"`);
      }
      return;
    }
    case "ok":
      if (lastError) fail(`success, got error "${lastError.message}"`);
      return;
    case "violations": {
      cluster.checkLogs();
      const want = int(rest[0], "a count");
      const got = cluster.checker.violations;
      if (got.length !== want) {
        fail(
          `${want} violations, got ${got.length}: ${
            got.map((v) => `${v.invariant}: ${v.detail}`).join("; ")
          }`,
        );
      }
      return;
    }
    case "violation": {
      cluster.checkLogs();
      const name = rest[0];
      if (!cluster.checker.violations.some((v) => v.invariant === name)) {
        fail(
          `a ${name} violation, got: ${
            cluster.checker.violations.map((v) => v.invariant).join(", ") || "none"
          }`,
        );
      }
      return;
    }
    default:
      throw new ScenarioError(`unknown expectation "${what}"`);
  }
}

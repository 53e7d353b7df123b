/**
 * What the HTML report shows, computed from a check result: per key the operations to draw (a window
 * around the break for big keys), client lanes, each op's place in the linearization with the model
 * state before and after it, and a sentence saying why the history breaks where it does.
 */
import type { CheckResult, PartitionResult } from "./checker.ts";
import type { Model, ModelState } from "./model.ts";
import { type Annotation, describeOperation, type Operation } from "./operation.ts";

export interface ReportOp {
  id: number;
  client: string;
  /** Row on the timeline: one per client, more when a client's ops overlap (an unknown op never ends). */
  lane: number;
  text: string;
  /** Short label drawn inside the bar. */
  label: string;
  kind: "read" | "write" | "cas" | "delete" | "append";
  call: number;
  /** null when the outcome is unknown (the op never returned). */
  ret: number | null;
  status: string;
  /** Position in the linearization (or the longest partial one), or -1 when not in it. */
  order: number;
  before?: string;
  after?: string;
}

export interface ReportPartition {
  key: string;
  verdict: string;
  reason?: string;
  totalOps: number;
  /** The shown ops are those from..to (exclusive) in call order, out of totalOps. */
  from: number;
  to: number;
  ops: ReportOp[];
  lanes: string[];
  linearized: number;
  /** The ops around the break (the last linearized ones and those overlapping the breaking op), drawn first. */
  focus?: number[];
  breakingId?: number;
  explanation?: string;
  elapsedMs: number;
}

export interface ReportSummaryRow {
  key: string;
  verdict: string;
  ops: number;
  ms: number;
}

export interface ReportData {
  title: string;
  verdict: string;
  headline: string;
  model: string;
  operationCount: number;
  keyCount: number;
  elapsedMs: number;
  partitions: ReportPartition[];
  /** Keys without a drawn timeline (big histories), for the table. */
  rows: ReportSummaryRow[];
  annotations: Annotation[];
}

/** Big keys are drawn as a window of this many ops (around the break when there is one). */
const MAX_OPS_DRAWN = 400;
const OPS_BEFORE_BREAK = 300;
/** The focus view starts this many linearized ops before the break. */
const FOCUS_LINEARIZED = 12;
const MAX_TIMELINES = { failing: 20, unknown: 10, linearizable: 30 };
const MAX_TABLE_ROWS = 2000;

export function buildReportData(
  result: CheckResult,
  model: Model,
  options: { title: string; headline: string; annotations: Annotation[] },
): ReportData {
  const by = (verdict: string) => result.partitions.filter((p) => p.verdict === verdict);
  const failing = by("not linearizable").sort((a, b) => a.operations.length - b.operations.length);
  const drawn = [
    ...failing.slice(0, MAX_TIMELINES.failing),
    ...by("unknown").slice(0, MAX_TIMELINES.unknown),
    ...by("linearizable").slice(0, MAX_TIMELINES.linearizable),
  ];
  return {
    title: options.title,
    verdict: result.verdict,
    headline: options.headline,
    model: model.name,
    operationCount: result.operationCount,
    keyCount: result.partitions.length,
    elapsedMs: result.elapsedMs,
    partitions: drawn.map((p) => buildPartition(p, model)),
    rows: result.partitions.slice(0, MAX_TABLE_ROWS).map((p) => ({
      key: p.key,
      verdict: p.verdict,
      ops: p.operations.length,
      ms: Math.round(p.elapsedMs * 10) / 10,
    })),
    annotations: options.annotations,
  };
}

function buildPartition(p: PartitionResult, model: Model): ReportPartition {
  const all = [...p.operations].sort((a, b) => a.call - b.call || a.id - b.id);
  const position = new Map(p.linearization.map((id, i) => [id, i]));
  const breakAt = p.breakingOpId === undefined ? -1 : all.findIndex((o) => o.id === p.breakingOpId);
  let from = 0;
  let to = all.length;
  if (all.length > MAX_OPS_DRAWN) {
    from = breakAt >= 0 ? Math.max(0, breakAt - OPS_BEFORE_BREAK) : 0;
    to = Math.min(all.length, from + MAX_OPS_DRAWN);
  }
  const states = replay(p, model);
  const shown = all.slice(from, to);
  const { laneOf, lanes } = assignLanes(shown);
  const ops = shown.map((o): ReportOp => {
    const order = position.get(o.id) ?? -1;
    const op: ReportOp = {
      id: o.id,
      client: String(o.client),
      lane: laneOf.get(o.id)!,
      text: describeOperation(o),
      label: shortLabel(o),
      kind: kindOf(o),
      call: o.call,
      ret: o.ret === Infinity ? null : o.ret,
      status: o.status,
      order,
    };
    if (order >= 0) {
      op.before = model.describeState(states[order]);
      op.after = model.describeState(states[order + 1]);
    }
    return op;
  });
  const partition: ReportPartition = {
    key: p.key,
    verdict: p.verdict,
    totalOps: all.length,
    from,
    to,
    ops,
    lanes,
    linearized: p.linearization.length,
    elapsedMs: p.elapsedMs,
  };
  if (p.reason) partition.reason = p.reason;
  if (p.breakingOpId !== undefined) {
    partition.breakingId = p.breakingOpId;
    const breaking = all[breakAt];
    const byId = new Map(all.map((o) => [o.id, o]));
    const recent = p.linearization.slice(-FOCUS_LINEARIZED).map((id) => byId.get(id)!.call);
    const since = Math.min(breaking.call, ...recent);
    const focus = shown.filter((o) => o.ret >= since && o.call <= breaking.ret).map((o) => o.id);
    if (focus.length < shown.length * 0.8) partition.focus = focus;
    const last = states[states.length - 1];
    const fits = model.step(last, breaking) !== undefined;
    partition.explanation = p.verdict === "not linearizable"
      ? `After the ${p.linearization.length} operations linearized first, the value is ${
        model.describeState(last)
      }. ` +
        `Next, ${
          describeOperation(breaking)
        } (client ${breaking.client}) had to take effect, since it returned ` +
        `before the remaining operations were called, but ${
          fits ? "every way to continue from there dead-ends" : "it does not fit that value"
        }, and no other order of the operations gets further.`
      : `The search stopped (${p.reason}). Its longest partial linearization has ${p.linearization.length} ` +
        `operations and stops before ${describeOperation(breaking)} (client ${breaking.client}).`;
  }
  return partition;
}

/** The model states along the (partial) linearization: states[i] is the state before its i-th op. */
function replay(p: PartitionResult, model: Model): ModelState[] {
  const byId = new Map(p.operations.map((o) => [o.id, o]));
  const states: ModelState[] = [model.init()];
  for (const id of p.linearization) {
    const state = states[states.length - 1];
    states.push(model.step(state, byId.get(id)!) ?? state);
  }
  return states;
}

function assignLanes(ops: Operation[]): { laneOf: Map<number, number>; lanes: string[] } {
  const busyUntil = new Map<string, number[]>();
  const laneIds = new Map<string, number>();
  const lanes: string[] = [];
  const laneOf = new Map<number, number>();
  for (const op of ops) {
    const client = String(op.client);
    const ends = busyUntil.get(client) ?? [];
    busyUntil.set(client, ends);
    let sub = ends.findIndex((end) => end < op.call);
    if (sub < 0) sub = ends.push(-Infinity) - 1;
    ends[sub] = op.ret;
    const name = sub === 0 ? `client ${client}` : `client ${client} (${sub + 1})`;
    if (!laneIds.has(name)) {
      laneIds.set(name, lanes.length);
      lanes.push(name);
    }
    laneOf.set(op.id, laneIds.get(name)!);
  }
  return { laneOf, lanes };
}

function kindOf(op: Operation): ReportOp["kind"] {
  switch (op.op) {
    case "get":
    case "read":
      return "read";
    case "cas":
      return "cas";
    case "delete":
      return "delete";
    case "append":
      return "append";
    default:
      return "write";
  }
}

function shortLabel(op: Operation): string {
  const v = (x: unknown) => {
    const s = x === "" ? '""' : typeof x === "string" ? x : String(JSON.stringify(x));
    return s.length > 12 ? `${s.slice(0, 11)}…` : s;
  };
  switch (op.op) {
    case "get":
    case "read":
      return `${op.op}→${op.status === "unknown" ? "?" : v(op.output)}`;
    case "cas":
      return `cas ${v(op.prev)}→${v(op.value)} ${op.status === "unknown" ? "?" : op.output ? "✓" : "✗"}`;
    case "delete":
      return "delete";
    default:
      return `${op.op} ${v(op.value)}`;
  }
}

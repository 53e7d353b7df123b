/**
 * Jepsen-style histories: one EDN map per line, as in the Porcupine fixtures and Knossos data:
 *   {:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}
 *   {:process 0, :type :ok, :f :get, :key "0", :value "x 0 0 yx 0 1 y"}
 * Each :invoke is completed by the next :ok / :fail / :info of the same :process. :ok completed, :fail
 * certainly did not happen (dropped), :info (or no completion) is unknown. Read values come on the
 * completion; a cas's :value is [expected new] and :ok means it swapped. Without :time on every line,
 * the line number is the time (Jepsen's :time is in nanoseconds and becomes milliseconds).
 * Events of the :nemesis process become annotations.
 */
import { EdnError, type EdnValue, Keyword, parseEdn } from "./edn.ts";
import { HistoryFormatError, type ParsedHistory } from "./history.ts";
import { type Annotation, OP_NAMES, type Operation, type OpName, type Value } from "./operation.ts";

interface Invocation {
  id: number;
  client: string | number;
  op: OpName;
  key: string;
  value: EdnValue;
  time: number;
}

/**
 * The shape of nearly every line of a Jepsen-style key-value history (Porcupine's fixtures, Knossos
 * logs): these five fields in this order, with plain values. One regular expression reads it, as
 * Porcupine's own parseKvLog does, in a fifth of the time the EDN reader takes per line (c50-bad,
 * 4,048 lines: 2.6-5.9 ms against 10-12 ms); any other line goes through the EDN reader, and both
 * give the same event (edn_test.ts compares them on every fixture shape).
 */
const PLAIN_EVENT =
  /^\{:process (\d+), :type :(invoke|ok|fail|info), :f :([a-z]+), :key "([^"\\]*)", :value (?:nil|"([^"\\]*)"|(-?\d+))\}$/;

/** One line's fields, read either way. */
interface Event {
  process: EdnValue | undefined;
  type: string | undefined;
  f: EdnValue | undefined;
  key: EdnValue | undefined;
  value: EdnValue | undefined;
  time: EdnValue | undefined;
}

function readEvent(line: string, where: () => string): Event {
  const plain = PLAIN_EVENT.exec(line);
  if (plain) {
    const [, process, type, f, key, text, number] = plain;
    const value = text !== undefined ? text : number !== undefined ? Number(number) : null;
    return { process: Number(process), type, f: new Keyword(f), key, value, time: undefined };
  }
  let map: EdnValue;
  try {
    map = parseEdn(line);
  } catch (e) {
    if (e instanceof EdnError) throw new HistoryFormatError(`${where()}: not an EDN map (${e.message})`);
    throw e;
  }
  if (!(map instanceof Map)) throw new HistoryFormatError(`${where()}: expected one EDN map per line`);
  return {
    process: map.get(":process"),
    type: keywordName(map.get(":type")),
    f: map.get(":f"),
    key: map.get(":key"),
    value: map.get(":value"),
    time: map.get(":time"),
  };
}

export function parseJepsenHistory(text: string, source = "history"): ParsedHistory {
  const open = new Map<string | number, Invocation>();
  const operations: Operation[] = [];
  const annotations: Annotation[] = [];
  let failedCount = 0;
  let nextId = 0;
  let timed: boolean | undefined;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "" || line.startsWith(";")) continue;
    const where = () => `${source}:${i + 1}`;
    const event = readEvent(line, where);
    const rawTime = event.time;
    if (timed === undefined) timed = typeof rawTime === "number";
    if (timed !== (typeof rawTime === "number")) {
      throw new HistoryFormatError(`${where()}: ":time" must be on every event or on none`);
    }
    const time = timed ? (rawTime as number) / 1e6 : i;
    const process = event.process;
    const type = event.type;
    if (process instanceof Keyword && process.name === "nemesis") {
      annotations.push({ time, text: describeNemesis(event) });
      continue;
    }
    if (typeof process !== "number" && typeof process !== "string") {
      throw new HistoryFormatError(`${where()}: ":process" must be a number or a string`);
    }
    if (type === "invoke") {
      if (open.has(process)) {
        throw new HistoryFormatError(
          `${where()}: process ${process} invokes again before its last op completed`,
        );
      }
      const f = keywordName(event.f);
      if (!OP_NAMES.includes(f as OpName)) {
        throw new HistoryFormatError(
          `${where()}: ":f" must be one of ${OP_NAMES.join(", ")}, got ${String(event.f)}`,
        );
      }
      const key = event.key;
      open.set(process, {
        id: nextId++,
        client: process,
        op: f as OpName,
        key: key === undefined || key === null ? "" : String(key),
        value: event.value ?? null,
        time,
      });
    } else if (type === "ok" || type === "fail" || type === "info") {
      const inv = open.get(process);
      if (!inv) {
        throw new HistoryFormatError(`${where()}: :${type} for process ${process} with no :invoke before it`);
      }
      open.delete(process);
      if (type === "fail") {
        failedCount++;
        continue;
      }
      operations.push(toOperation(inv, type === "ok" ? event : undefined, time, where));
    } else {
      throw new HistoryFormatError(`${where()}: ":type" must be :invoke, :ok, :fail or :info`);
    }
  }
  for (const inv of open.values()) operations.push(toOperation(inv, undefined, Infinity, () => source));
  operations.sort((a, b) => a.call - b.call || a.id - b.id);
  return { history: { operations, annotations, failedCount } };
}

function keywordName(v: EdnValue | undefined): string | undefined {
  return v instanceof Keyword ? v.name : undefined;
}

function describeNemesis(event: Event): string {
  return [event.type, event.f, event.value]
    .filter((v) => v !== undefined && v !== null)
    .map((v) => asText(v!))
    .join(" ");
}

function asText(v: EdnValue): string {
  if (v instanceof Keyword) return v.name;
  if (Array.isArray(v)) return `[${v.map(asText).join(" ")}]`;
  if (v instanceof Map) return `{${[...v].map(([k, x]) => `${k} ${asText(x)}`).join(", ")}}`;
  return String(v);
}

function toValue(v: EdnValue | undefined, where: () => string): Value | undefined {
  if (v === undefined) return undefined;
  if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  if (v instanceof Keyword) return v.toString();
  throw new HistoryFormatError(`${where()}: expected a plain value (string, number, nil), got a collection`);
}

/** `completion` is the :ok event, or undefined for an unknown outcome. */
function toOperation(
  inv: Invocation,
  completion: Event | undefined,
  time: number,
  where: () => string,
): Operation {
  const op: Operation = {
    id: inv.id,
    client: inv.client,
    op: inv.op,
    key: inv.key,
    status: completion ? "ok" : "unknown",
    call: inv.time,
    ret: completion ? time : Infinity,
  };
  if (inv.op === "cas") {
    if (!Array.isArray(inv.value) || inv.value.length !== 2) {
      throw new HistoryFormatError(`${where()}: a cas :value must be [expected new]`);
    }
    op.prev = toValue(inv.value[0], where);
    op.value = toValue(inv.value[1], where);
    if (completion) op.output = true;
  } else if (inv.op === "get" || inv.op === "read") {
    if (completion) op.output = toValue(completion.value ?? null, where);
  } else if (inv.op !== "delete") {
    op.value = toValue(inv.value, where);
  }
  return op;
}

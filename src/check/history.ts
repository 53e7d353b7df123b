/**
 * History files: JSON Lines, one event per line, in the order they happened.
 *
 *   {"type":"meta","model":"kv"}                                                   optional, first line
 *   {"type":"call","id":7,"client":"c3","op":"cas","key":"k1","prev":"a","value":"b","time":1234.5}
 *   {"type":"return","id":7,"status":"ok","output":true,"time":1240.25}
 *   {"type":"note","text":"isolate leader n1","time":1300}                         optional, any time
 *
 * - `id`: a number unique in the file that ties a return to its call. `client`: a string or number.
 * - `op`: kv model: get, put, delete, cas, append; register model: read, write, cas. `key` is required
 *   for kv (a register history may leave it out). `value`: what put/append/write store, the new value of a
 *   cas. `prev`: the value a cas expects.
 * - `status` of a return: "ok" (completed; `output` is what it returned: get/read the value read, where
 *   a missing key reads as ""; cas true when it swapped, false when the current value differed; put,
 *   delete, append need none), "fail" (certainly did not take effect, e.g. refused before being
 *   proposed; the op is dropped), "unknown" (timed out or the connection broke: it may take effect at
 *   any time after its call). A call with no return at all is unknown as well.
 *   A cas that found a different value is better recorded as ok with output false than as fail: the
 *   checker then also knows the value differed at that moment.
 * - `time`: milliseconds (a float) from one monotonic clock. Either every line has it or none does
 *   (then the line number is the time). Intervals are closed: a call at the same time as another op's
 *   return overlaps it.
 */
import type { Annotation, History, Operation, OpName, OpStatus, Value } from "./operation.ts";
import { OP_NAMES } from "./operation.ts";

interface CallEvent {
  type: "call";
  id: number;
  client: string | number;
  op: OpName;
  key?: string;
  value?: Value;
  prev?: Value;
  time?: number;
}

interface ReturnEvent {
  type: "return";
  id: number;
  status: OpStatus | "fail";
  output?: Value;
  time?: number;
}

/** Records a run's events as they happen; one recorder per run, shared by all of its clients. */
export class HistoryRecorder {
  readonly #lines: string[] = [];
  readonly #open = new Set<number>();
  #nextId = 0;
  readonly #now: () => number;

  /** `now` defaults to performance.now(); pass a model name to make `deno task check` pick it by itself. */
  constructor(options: { model?: string; now?: () => number } = {}) {
    this.#now = options.now ?? (() => performance.now());
    if (options.model) this.#lines.push(JSON.stringify({ type: "meta", model: options.model }));
  }

  /** Records the invocation; returns the id to complete it with. `value` is the new value of a cas, `prev` the expected one. */
  call(client: string | number, op: OpName, key: string, value?: Value, prev?: Value): number {
    const id = this.#nextId++;
    this.#open.add(id);
    const event: CallEvent = { type: "call", id, client, op, key, value, prev, time: this.#now() };
    this.#lines.push(JSON.stringify(event));
    return id;
  }

  /** It completed and returned `output` (get/read: the value; cas: whether it swapped). */
  ok(id: number, output?: Value): void {
    this.#complete(id, "ok", output);
  }

  /** It certainly did not take effect. */
  fail(id: number): void {
    this.#complete(id, "fail");
  }

  /** It may or may not have taken effect (timeout, lost connection, crashed server). */
  unknown(id: number): void {
    this.#complete(id, "unknown");
  }

  /** A fault or other event worth seeing on the timeline. */
  note(text: string): void {
    this.#lines.push(JSON.stringify({ type: "note", text, time: this.#now() }));
  }

  /** Number of operations called so far. */
  get size(): number {
    return this.#nextId;
  }

  /** Operations still waiting for ok/fail/unknown (they read as unknown if written out now). */
  get pending(): number {
    return this.#open.size;
  }

  toJsonl(): string {
    return this.#lines.length === 0 ? "" : this.#lines.join("\n") + "\n";
  }

  async writeFile(path: string): Promise<void> {
    await Deno.writeTextFile(path, this.toJsonl());
  }

  #complete(id: number, status: OpStatus | "fail", output?: Value): void {
    if (!this.#open.delete(id)) {
      throw new Error(
        `operation ${id} is not waiting for a result (never called, or completed twice): fix the caller`,
      );
    }
    const event: ReturnEvent = { type: "return", id, status, output, time: this.#now() };
    this.#lines.push(JSON.stringify(event));
  }
}

export class HistoryFormatError extends Error {}

export interface ParsedHistory {
  history: History;
  /** The model named by a "meta" line, if any. */
  model?: string;
}

interface OpenCall {
  event: CallEvent;
  time: number;
}

/** Reads a JSON Lines history (format above). Throws HistoryFormatError naming the line and the problem. */
export function parseJsonlHistory(text: string, source = "history"): ParsedHistory {
  const calls = new Map<number, OpenCall>();
  const operations: Operation[] = [];
  const annotations: Annotation[] = [];
  let failedCount = 0;
  let model: string | undefined;
  let timed: boolean | undefined;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    const where = `${source}:${i + 1}`;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      throw new HistoryFormatError(`${where}: not JSON (${(e as Error).message})`);
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      throw new HistoryFormatError(`${where}: expected a JSON object per line`);
    }
    const event = raw as Record<string, unknown>;
    const hasTime = event.time !== undefined;
    if (event.type !== "meta") {
      if (timed === undefined) timed = hasTime;
      if (timed !== hasTime) {
        throw new HistoryFormatError(`${where}: "time" must be on every event or on none`);
      }
      if (hasTime && (typeof event.time !== "number" || !Number.isFinite(event.time))) {
        throw new HistoryFormatError(`${where}: "time" must be a finite number of milliseconds`);
      }
    }
    const time = hasTime ? event.time as number : i;
    switch (event.type) {
      case "meta":
        if (event.model !== undefined && typeof event.model !== "string") {
          throw new HistoryFormatError(`${where}: "model" must be a string`);
        }
        model = event.model as string | undefined;
        break;
      case "note":
        annotations.push({ time, text: String(event.text ?? "") });
        break;
      case "call": {
        const call = readCall(event, where);
        if (calls.has(call.id)) {
          throw new HistoryFormatError(`${where}: id ${call.id} is used by two calls; ids must be unique`);
        }
        calls.set(call.id, { event: call, time });
        break;
      }
      case "return": {
        const ret = readReturn(event, where);
        const open = calls.get(ret.id);
        if (!open) throw new HistoryFormatError(`${where}: return for id ${ret.id} with no call before it`);
        calls.delete(ret.id);
        if (time < open.time) {
          throw new HistoryFormatError(
            `${where}: id ${ret.id} returns at ${time}, before its call at ${open.time}`,
          );
        }
        if (ret.status === "fail") {
          failedCount++;
          break;
        }
        operations.push(toOperation(open, ret.status, ret.output, ret.status === "ok" ? time : Infinity));
        break;
      }
      default:
        throw new HistoryFormatError(
          `${where}: "type" must be call, return, note or meta, got ${JSON.stringify(event.type)}`,
        );
    }
  }
  for (const open of calls.values()) operations.push(toOperation(open, "unknown", undefined, Infinity));
  checkUniqueIds(operations, source);
  operations.sort((a, b) => a.call - b.call || a.id - b.id);
  return { history: { operations, annotations, failedCount }, model };
}

function toOperation(open: OpenCall, status: OpStatus, output: Value | undefined, ret: number): Operation {
  const e = open.event;
  const op: Operation = {
    id: e.id,
    client: e.client,
    op: e.op,
    key: e.key ?? "",
    status,
    call: open.time,
    ret,
  };
  if (e.value !== undefined) op.value = e.value;
  if (e.prev !== undefined) op.prev = e.prev;
  if (status === "ok" && output !== undefined) op.output = output;
  return op;
}

function checkUniqueIds(operations: Operation[], source: string): void {
  const seen = new Set<number>();
  for (const op of operations) {
    if (seen.has(op.id)) {
      throw new HistoryFormatError(`${source}: id ${op.id} is used by two calls; ids must be unique`);
    }
    seen.add(op.id);
  }
}

function isValue(v: unknown): v is Value {
  return v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}

function readCall(e: Record<string, unknown>, where: string): CallEvent {
  if (typeof e.id !== "number" || !Number.isInteger(e.id)) {
    throw new HistoryFormatError(`${where}: "id" must be an integer`);
  }
  if (typeof e.client !== "string" && typeof e.client !== "number") {
    throw new HistoryFormatError(`${where}: "client" must be a string or a number`);
  }
  if (!OP_NAMES.includes(e.op as OpName)) {
    throw new HistoryFormatError(
      `${where}: "op" must be one of ${OP_NAMES.join(", ")}, got ${JSON.stringify(e.op)}`,
    );
  }
  if (e.key !== undefined && typeof e.key !== "string") {
    throw new HistoryFormatError(`${where}: "key" must be a string`);
  }
  for (const field of ["value", "prev"]) {
    if (e[field] !== undefined && !isValue(e[field])) {
      throw new HistoryFormatError(`${where}: "${field}" must be a string, number, boolean or null`);
    }
  }
  return {
    type: "call",
    id: e.id,
    client: e.client,
    op: e.op as OpName,
    key: e.key as string | undefined,
    value: e.value as Value | undefined,
    prev: e.prev as Value | undefined,
  };
}

function readReturn(e: Record<string, unknown>, where: string): ReturnEvent {
  if (typeof e.id !== "number" || !Number.isInteger(e.id)) {
    throw new HistoryFormatError(`${where}: "id" must be an integer`);
  }
  if (e.status !== "ok" && e.status !== "fail" && e.status !== "unknown") {
    throw new HistoryFormatError(
      `${where}: "status" must be ok, fail or unknown, got ${JSON.stringify(e.status)}`,
    );
  }
  if (e.output !== undefined && !isValue(e.output)) {
    throw new HistoryFormatError(`${where}: "output" must be a string, number, boolean or null`);
  }
  return { type: "return", id: e.id, status: e.status, output: e.output as Value | undefined };
}

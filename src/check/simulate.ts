/**
 * A ground-truth simulator: concurrent clients against one atomic key-value store, so every history it
 * makes is linearizable by construction. Each client runs ops one after another; each op gets a random
 * [call, return] interval and a linearization point inside it, and the ops are applied to the store in
 * linearization-point order to get their outputs. Some ops time out (status unknown): they took effect
 * or not (a coin flip), and the client moves on. Written values are unique, as a test harness's are.
 */
import type { History, Operation, OpName } from "./operation.ts";

export interface SimulationOptions {
  operations: number;
  keys: number;
  clients: number;
  seed: number;
  /** Fraction of operations whose outcome is unknown (default 0.01). */
  unknownRate?: number;
  /** Relative weights of the operations (default get 45, put 30, cas 10, append 8, delete 7). */
  mix?: Partial<Record<"get" | "put" | "cas" | "append" | "delete", number>>;
}

const DEFAULT_MIX = { get: 45, put: 30, cas: 10, append: 8, delete: 7 };

/** A small, fast, seeded generator (mulberry32): the same seed gives the same history. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Planned {
  op: Operation;
  /** When it takes effect; undefined for an unknown op that never did. */
  point?: number;
}

export function simulateKvHistory(options: SimulationOptions): History {
  const random = seededRandom(options.seed);
  const unknownRate = options.unknownRate ?? 0.01;
  const mix = Object.entries({ ...DEFAULT_MIX, ...options.mix }) as Array<[OpName, number]>;
  const totalWeight = mix.reduce((s, [, w]) => s + w, 0);
  const pickOp = (): OpName => {
    let r = random() * totalWeight;
    for (const [name, w] of mix) if ((r -= w) < 0) return name;
    return mix[mix.length - 1][0];
  };
  const lastWritten = new Map<string, string>();
  const clientTime = new Float64Array(options.clients);
  const planned: Planned[] = [];
  for (let id = 0; id < options.operations; id++) {
    // The client that is free first issues the next op, as in a closed-loop load generator.
    let client = 0;
    for (let c = 1; c < options.clients; c++) if (clientTime[c] < clientTime[client]) client = c;
    const call = clientTime[client] + random() * 0.2;
    const duration = 0.05 + -Math.log(1 - random()) * 0.5;
    const key = `k${Math.floor(random() * options.keys)}`;
    const name = pickOp();
    const op: Operation = { id, client, op: name, key, status: "ok", call, ret: call + duration };
    if (name === "put" || name === "append" || name === "cas") op.value = `${client}.${id}`;
    // A cas expects the value last written to the key: often right, sometimes overtaken by a later write.
    if (name === "cas") op.prev = lastWritten.get(key) ?? null;
    if (name === "put" || name === "cas") lastWritten.set(key, op.value as string);
    const timedOut = random() < unknownRate;
    const applied = !timedOut || random() < 0.5;
    clientTime[client] = timedOut ? call + duration * 4 : op.ret;
    if (timedOut) {
      op.status = "unknown";
      op.ret = Infinity;
    }
    planned.push({ op, point: applied ? call + random() * duration : undefined });
  }

  // Absent keys read as "", and a cas expecting null finds them absent (the kv model's semantics).
  const store = new Map<string, string>();
  const byPoint = planned.filter((p) => p.point !== undefined).sort((a, b) => a.point! - b.point!);
  for (const { op } of byPoint) {
    const current = store.get(op.key) ?? null;
    switch (op.op) {
      case "get":
        op.output = current ?? "";
        break;
      case "put":
        store.set(op.key, op.value as string);
        break;
      case "append":
        store.set(op.key, (current ?? "") + op.value);
        break;
      case "delete":
        store.delete(op.key);
        break;
      case "cas":
        op.output = current === op.prev;
        if (op.output) store.set(op.key, op.value as string);
        break;
    }
    if (op.status === "unknown") delete op.output;
  }
  const operations = planned.map((p) => p.op).sort((a, b) => a.call - b.call || a.id - b.id);
  return { operations, annotations: [], failedCount: 0 };
}

/**
 * The checker against the brute-force oracle on thousands of random small histories (seeded, so every run
 * sees the same ones). Values repeat on purpose (few distinct values, ties at equal times, unknown
 * outcomes): those are the cases where a pruning rule would go wrong.
 */
import assert from "node:assert/strict";
import { isLinearizableByBruteForce } from "./brute_force.ts";
import { checkHistory } from "./checker.ts";
import { kvModel } from "./kv_model.ts";
import { kvWholeModel } from "./kv_whole_model.ts";
import type { Model, ModelState } from "./model.ts";
import { describeOperation, type Operation, type OpName, type Value } from "./operation.ts";
import { registerModel } from "./register_model.ts";
import { seededRandom } from "./simulate.ts";

interface Shape {
  ops: OpName[];
  /** Share of ops whose outcome is unknown. */
  unknownRate: number;
  keys: string[];
  values: Value[];
  /** The model used to make plausible outputs by replaying a random order, and how to read a key in its state. */
  replay: Model;
  peek: (state: ModelState, key: string) => Value;
}

const KV: Shape = {
  ops: ["get", "put", "delete", "cas", "append"],
  unknownRate: 0.25,
  keys: ["x", "y"],
  // "" and null (absent) differ for a cas, not for a get.
  values: ["a", "b", "", null],
  replay: kvWholeModel,
  peek: (state, key) => new Map(JSON.parse(state as string) as Array<[string, string]>).get(key) ?? null,
};
/** Without appends every op tells states apart in the simple way the unknown-op reductions rely on. */
const KV_NO_APPEND: Shape = { ...KV, ops: ["get", "put", "delete", "cas"], unknownRate: 0.4 };
const REGISTER: Shape = {
  ops: ["read", "write", "cas"],
  unknownRate: 0.25,
  keys: [""],
  values: [1, 2, null],
  replay: registerModel,
  peek: (state) => state,
};

/** A random history of up to 9 ops; half the time its outputs come from replaying a random order. */
function randomHistory(seed: number, shape: Shape): Operation[] {
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const n = 1 + Math.floor(random() * 9);
  const ops: Operation[] = [];
  for (let id = 0; id < n; id++) {
    const call = Math.floor(random() * 12);
    const unknown = random() < shape.unknownRate;
    const op: Operation = {
      id,
      client: id,
      op: pick(shape.ops),
      key: pick(shape.keys),
      status: unknown ? "unknown" : "ok",
      call,
      ret: unknown ? Infinity : call + Math.floor(random() * 6),
    };
    if (op.op === "put" || op.op === "write" || op.op === "cas") {
      op.value = pick(shape.values.filter((v) => v !== null));
    }
    if (op.op === "append") op.value = pick(["a", "b"]);
    if (op.op === "cas") op.prev = pick(shape.values);
    ops.push(op);
  }
  if (random() < 0.5) {
    for (const op of ops) {
      if (op.status === "unknown") continue;
      if (op.op === "get") op.output = pick(["a", "b", ""]);
      if (op.op === "read") op.output = pick(shape.values);
      if (op.op === "cas") op.output = random() < 0.5;
    }
  } else {
    // Effect points inside each interval (an unknown op takes effect or not); outputs follow from them.
    const points = ops.map((o) => ({
      o,
      at: o.status === "ok" ? o.call + random() * (o.ret - o.call) : o.call + random() * 10,
    }))
      .filter(({ o }) => o.status === "ok" || random() < 0.5)
      .sort((a, b) => a.at - b.at);
    let state: ModelState = shape.replay.init();
    for (const { o } of points) {
      if (o.status === "ok" && o.op === "get") o.output = shape.peek(state, o.key) ?? "";
      if (o.status === "ok" && o.op === "read") o.output = shape.peek(state, o.key);
      if (o.status === "ok" && o.op === "cas") o.output = shape.peek(state, o.key) === o.prev;
      state = shape.replay.step(state, o) ?? state;
    }
  }
  return ops;
}

async function compareWithOracle(shape: Shape, checked: Model, oracle: Model, count: number) {
  let linearizable = 0;
  for (let seed = 1; seed <= count; seed++) {
    const operations = randomHistory(seed, shape);
    const expected = isLinearizableByBruteForce(operations, oracle);
    const result = await checkHistory({ operations, annotations: [], failedCount: 0 }, {
      model: checked,
      workers: 0,
    });
    const got = result.verdict === "linearizable";
    if (got !== expected) {
      const listing = operations.map((o) => `  [${o.call}, ${o.ret}] ${describeOperation(o)}`).join("\n");
      assert.fail(`seed ${seed}: checker says ${result.verdict}, brute force says ${expected}\n${listing}`);
    }
    if (expected) linearizable++;
  }
  return linearizable;
}

Deno.test("checker agrees with the brute-force oracle on 3000 random key-value histories", async () => {
  const count = 3000;
  const linearizable = await compareWithOracle(KV, kvModel, kvWholeModel, count);
  // Both verdicts must be well represented, or the comparison proves little.
  assert.ok(
    linearizable > count * 0.2 && linearizable < count * 0.8,
    `${linearizable} of ${count} linearizable`,
  );
});

Deno.test("checker agrees with the brute-force oracle on 3000 random key-value histories without appends", async () => {
  const count = 3000;
  const linearizable = await compareWithOracle(KV_NO_APPEND, kvModel, kvWholeModel, count);
  assert.ok(
    linearizable > count * 0.2 && linearizable < count * 0.8,
    `${linearizable} of ${count} linearizable`,
  );
});

Deno.test("checker agrees with the brute-force oracle on 2000 random register histories", async () => {
  const count = 2000;
  const linearizable = await compareWithOracle(REGISTER, registerModel, registerModel, count);
  assert.ok(
    linearizable > count * 0.2 && linearizable < count * 0.8,
    `${linearizable} of ${count} linearizable`,
  );
});

import assert from "node:assert/strict";
import { WarningGate } from "./warning_gate.ts";

Deno.test("a lasting warning is said once, then again every repeatMs with how long it has lasted", () => {
  const gate = new WarningGate(30_000);
  const failing = "setIdentity: 401 unauthorized (planned again in a moment)";
  assert.deepEqual(gate.check(failing, 0), { say: "first" });
  for (let t = 1_000; t < 30_000; t += 1_000) assert.deepEqual(gate.check(failing, t), { say: "nothing" });
  assert.deepEqual(gate.check(failing, 30_000), { say: "again", forSeconds: 30 });
  assert.deepEqual(gate.check(failing, 31_000), { say: "nothing" });
  assert.deepEqual(gate.check(failing, 61_500), { say: "again", forSeconds: 62 });
  assert.equal(gate.current, failing);
});

Deno.test("another warning, or a reset after an action that worked, is said at once", () => {
  const gate = new WarningGate(30_000);
  assert.deepEqual(gate.check("a", 0), { say: "first" });
  assert.deepEqual(gate.check("b", 1_000), { say: "first" });
  assert.deepEqual(gate.check("a", 2_000), { say: "first" });
  gate.reset();
  assert.equal(gate.current, undefined);
  assert.deepEqual(gate.check("a", 3_000), { say: "first" });
  assert.deepEqual(gate.check("a", 4_000), { say: "nothing" });
});

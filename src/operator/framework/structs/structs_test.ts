import assert from "node:assert/strict";
import { findCondition, isConditionTrue, setCondition } from "./conditions.ts";
import { diff, essenceOf } from "./diffs.ts";
import { getField, type KubeObject } from "./objects.ts";
import { applyMergePatch, combinePatches, isEmptyPatch, withoutEmptyObjects } from "./patches.ts";

Deno.test("essence: spec and other data, labels and annotations; never status or bookkeeping", () => {
  const body: KubeObject = {
    apiVersion: "v1",
    kind: "Widget",
    metadata: {
      name: "w",
      uid: "u",
      resourceVersion: "7",
      generation: 3,
      finalizers: ["x"],
      labels: { a: "1" },
      annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}", note: "n" },
    },
    spec: { replicas: 3 },
    data: { k: "v" },
    status: { phase: "Ready" },
  };
  assert.deepEqual(essenceOf(body), {
    spec: { replicas: 3 },
    data: { k: "v" },
    metadata: { labels: { a: "1" }, annotations: { note: "n" } },
  });
  assert.deepEqual(essenceOf({ metadata: body.metadata, status: {} }), {
    metadata: { labels: { a: "1" }, annotations: { note: "n" } },
  });
});

Deno.test("diff: add, change, remove at object paths; arrays compare whole", () => {
  assert.deepEqual(diff({ a: 1, b: { c: 2, d: [1] } }, { a: 1, b: { c: 3, d: [1, 2] }, e: true }), [
    { op: "change", path: ["b", "c"], old: 2, new: 3 },
    { op: "change", path: ["b", "d"], old: [1], new: [1, 2] },
    { op: "add", path: ["e"], old: undefined, new: true },
  ]);
  assert.deepEqual(diff({ a: 1 }, {}), [{ op: "remove", path: ["a"], old: 1, new: undefined }]);
  assert.deepEqual(diff({ x: { y: 1 } }, { x: { y: 1 } }), []);
  assert.equal(getField({ spec: { replicas: 2 } }, "spec.replicas"), 2);
  assert.equal(getField({ spec: 5 }, "spec.replicas"), undefined);
});

Deno.test("merge patches: RFC 7386 apply, combine keeps nulls, empty objects dropped", () => {
  const target = { a: 1, b: { c: 2, d: 3 }, l: [1, 2] };
  assert.deepEqual(applyMergePatch(target, { b: { c: null, e: 4 }, l: [3], f: "x" }), {
    a: 1,
    b: { d: 3, e: 4 },
    l: [3],
    f: "x",
  });
  assert.deepEqual(target, { a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, "the target is not modified");
  const combined = combinePatches({ status: { a: 1, x: null } }, { status: { b: 2 }, spec: { c: 3 } });
  assert.deepEqual(combined, { status: { a: 1, x: null, b: 2 }, spec: { c: 3 } });
  assert.deepEqual(withoutEmptyObjects({ metadata: { labels: {} }, spec: {}, status: { x: null } }), {
    status: { x: null },
  });
  assert.ok(isEmptyPatch({ metadata: { labels: {}, annotations: {} }, spec: {} }));
});

Deno.test("conditions: transition time moves only with status; observedGeneration; CamelCase reasons", () => {
  const t0 = new Date("2026-01-01T00:00:00.500Z");
  const t1 = new Date("2026-01-01T00:05:00Z");
  let conditions = setCondition([], { type: "Ready", status: "False", reason: "Starting" }, 1, t0);
  assert.deepEqual(conditions, [{
    type: "Ready",
    status: "False",
    reason: "Starting",
    message: "",
    observedGeneration: 1,
    lastTransitionTime: "2026-01-01T00:00:00Z",
  }]);
  conditions = setCondition(
    conditions,
    { type: "Ready", status: "False", reason: "Waiting", message: "m" },
    2,
    t1,
  );
  assert.equal(conditions[0].lastTransitionTime, "2026-01-01T00:00:00Z", "same status: time kept");
  assert.equal(conditions[0].reason, "Waiting");
  assert.equal(conditions[0].observedGeneration, 2);
  conditions = setCondition(conditions, { type: "Ready", status: "True", reason: "Running" }, 2, t1);
  assert.equal(conditions[0].lastTransitionTime, "2026-01-01T00:05:00Z");
  conditions = setCondition(conditions, { type: "Degraded", status: "False", reason: "AsExpected" }, 2, t1);
  assert.deepEqual(conditions.map((c) => c.type), ["Ready", "Degraded"]);
  assert.ok(isConditionTrue(conditions, "Ready", 2));
  assert.ok(!isConditionTrue(conditions, "Ready", 3), "true for an older generation is not true now");
  assert.equal(findCondition(conditions, "Progressing"), undefined);
  assert.throws(
    () => setCondition([], { type: "Ready", status: "True", reason: "not camel" }, 1),
    /CamelCase/,
  );
});

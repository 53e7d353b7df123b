import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { parseDuration, parseRateLimit, resolveSpec, SpecError } from "./spec.ts";

const examples = new URL("../../../deploy/examples/", import.meta.url);
const specOf = async (file: string) =>
  (k8s.loadYaml(await Deno.readTextFile(new URL(file, examples))) as { spec: Record<string, unknown> }).spec;

Deno.test("the seed's YAML, verbatim, resolves with every field taken into account", async () => {
  const spec = resolveSpec(await specOf("raftcluster-seed.yaml"));
  assert.deepEqual(spec, {
    replicas: 3,
    safetyMode: "safe",
    image: "localhost:5000/raft-kv:latest",
    imagePullPolicy: "IfNotPresent",
    storageSize: "1Gi",
    snapshotIntervalMs: 30_000,
    electionTimeoutMs: 300,
    faultInjection: false,
    reconfig: { maxParallel: 1, rateLimit: { text: "1/min", count: 1, periodMs: 60_000 } },
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
    auth: false,
  });
});

Deno.test("every example in deploy/examples resolves, one per safety mode", async () => {
  const modes = new Set<string>();
  for await (const entry of Deno.readDir(examples)) {
    if (entry.name.endsWith(".yaml")) modes.add(resolveSpec(await specOf(entry.name)).safetyMode);
  }
  assert.deepEqual([...modes].sort(), ["safe", "unsafe-early-vote", "unsafe-no-joint"]);
});

Deno.test("durations and rate limits", () => {
  assert.equal(parseDuration("30s"), 30_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("0s"), 0);
  assert.equal(parseDuration("30"), undefined);
  assert.equal(parseDuration("soon"), undefined);
  assert.deepEqual(parseRateLimit("1/min"), { text: "1/min", count: 1, periodMs: 60_000 });
  assert.deepEqual(parseRateLimit("2/hour"), { text: "2/hour", count: 2, periodMs: 3_600_000 });
  assert.deepEqual(parseRateLimit("1/30s"), { text: "1/30s", count: 1, periodMs: 30_000 });
  assert.deepEqual(parseRateLimit("3/m"), { text: "3/m", count: 3, periodMs: 60_000 });
  assert.equal(parseRateLimit("0/min"), undefined);
  assert.equal(parseRateLimit("1 per minute"), undefined);
  assert.equal(parseRateLimit("1/fortnight"), undefined);
});

Deno.test("the old name storage.size still works, and contradicting storageSize is refused", () => {
  assert.equal(resolveSpec({ replicas: 1, storage: { size: "5Gi" } }).storageSize, "5Gi");
  assert.equal(resolveSpec({ replicas: 1, storage: { size: "5Gi" }, storageSize: "5Gi" }).storageSize, "5Gi");
  assert.throws(
    () => resolveSpec({ replicas: 1, storage: { size: "5Gi" }, storageSize: "2Gi" }),
    /storageSize \(2Gi\) and its old name spec\.storage\.size \(5Gi\) disagree/,
  );
});

Deno.test("bad values are refused with a message naming the field, the value and the fix", () => {
  const refused = (spec: Record<string, unknown>, message: RegExp) =>
    assert.throws(
      () => resolveSpec({ replicas: 3, ...spec }),
      (e: Error) => e instanceof SpecError && message.test(e.message),
    );
  refused({ replicas: 0 }, /spec\.replicas must be an integer from 1 to 9, got 0/);
  refused({ replicas: 10 }, /at most 9/);
  refused(
    { safetyMode: "yolo" },
    /spec\.safetyMode must be one of safe, unsafe-early-vote, unsafe-no-joint, got "yolo"/,
  );
  refused({ storageSize: "lots" }, /spec\.storageSize must be a quantity such as "1Gi"/);
  refused({ snapshotInterval: "30" }, /spec\.snapshotInterval must be a duration such as "30s"/);
  refused({ snapshotInterval: "10ms" }, /at least 1s/);
  refused({ electionTimeoutMs: 50 }, /spec\.electionTimeoutMs must be an integer from 100 to 60000/);
  refused(
    { electionTimeoutMs: 120 },
    /less than 3 ticks of 50 ms: raise it to at least 150, or lower spec\.tickMs/,
  );
  refused(
    { reconfig: { rateLimit: "one per minute" } },
    /spec\.reconfig\.rateLimit must read COUNT\/PERIOD such as "1\/min"/,
  );
  refused({ reconfig: { rateLimit: "11/min" } }, /at most 10 changes per period/);
  refused({ reconfig: { maxParallel: 0 } }, /spec\.reconfig\.maxParallel must be an integer from 1 to 9/);
  refused({ reconfig: "fast" }, /spec\.reconfig must be an object/);
  refused(
    { resources: { limits: { memory: "a lot" } } },
    /spec\.resources\.limits\.memory must be a quantity/,
  );
  refused({ resources: { limits: { gpu: "1" } } }, /only cpu and memory/);
  refused(
    { imagePullPolicy: "Sometimes" },
    /spec\.imagePullPolicy must be one of Always, IfNotPresent, Never/,
  );
  refused({ image: "" }, /spec\.image must name an image/);
  // With a faster tick, a short election timeout is fine.
  assert.equal(resolveSpec({ replicas: 3, tickMs: 20, electionTimeoutMs: 120 }).electionTimeoutMs, 120);
});

Deno.test("spec.faultInjection: off by default, a boolean, anything else refused with the field named", () => {
  assert.equal(resolveSpec({ replicas: 3 }).faultInjection, false);
  assert.equal(resolveSpec({ replicas: 3, faultInjection: true }).faultInjection, true);
  assert.throws(
    () => resolveSpec({ replicas: 3, faultInjection: "yes" }),
    (e) => e instanceof SpecError && /spec\.faultInjection must be true or false/.test(e.message),
  );
});

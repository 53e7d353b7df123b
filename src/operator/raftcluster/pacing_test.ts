import assert from "node:assert/strict";
import { initialStatus, type Member, type ReconfigStatus } from "../../reconfig/types.ts";
import { pace } from "./pacing.ts";
import { resolveSpec } from "./spec.ts";
import type { ReconfigRecord } from "./types.ts";

const members = (n: number): Member[] => Array.from({ length: n }, (_, slot) => ({ slot, id: slot + 1 }));
const idle = (n: number): ReconfigStatus => ({ ...initialStatus(), members: members(n) });
const now = new Date("2026-01-02T12:00:00Z");
const record = (startedAt: string): ReconfigRecord => ({
  from: 3,
  to: 4,
  startedAt,
  finishedAt: startedAt,
  durationSeconds: 1,
  result: "Succeeded",
  steps: [],
});

Deno.test("maxParallel 1 takes 3 -> 5 one member at a time, and 5 -> 3 likewise", () => {
  const spec = resolveSpec({ replicas: 5, reconfig: { maxParallel: 1 } });
  const first = pace({ spec, planner: idle(3), history: [], now });
  assert.equal(first.desired, 4);
  assert.match(first.message!, /3 -> 4 first, then on to 5/);
  assert.equal(pace({ spec, planner: idle(4), history: [], now }).desired, 5);
  const down = resolveSpec({ replicas: 3, reconfig: { maxParallel: 1 } });
  assert.equal(pace({ spec: down, planner: idle(5), history: [], now }).desired, 4);
  const two = resolveSpec({ replicas: 5, reconfig: { maxParallel: 2 } });
  assert.equal(pace({ spec: two, planner: idle(3), history: [], now }).desired, 5);
});

Deno.test("a change in flight keeps its own target: a spec change meanwhile is queued", () => {
  const spec = resolveSpec({ replicas: 7, reconfig: { maxParallel: 1 } });
  const inFlight: ReconfigStatus = {
    ...idle(3),
    phase: "CatchUp",
    adding: [{ slot: 3, id: 4 }],
    targetVoters: [1, 2, 3, 4],
  };
  const paced = pace({ spec, planner: inFlight, history: [], now });
  assert.equal(paced.desired, 4);
  assert.match(paced.message!, /spec\.replicas 7 is queued until the change to 4 voters finishes/);
  // Even a request to go back below the current size does not abort the scale-up (queued, not interleaved).
  assert.equal(pace({ spec: resolveSpec({ replicas: 3 }), planner: inFlight, history: [], now }).desired, 4);
});

Deno.test("rateLimit 1/min: a second change waits until a minute after the first started, and says until when", () => {
  const spec = resolveSpec({ replicas: 5, reconfig: { rateLimit: "1/min", maxParallel: 1 } });
  const formedAt = "2026-01-02T11:00:00Z";
  const held = pace({ spec, planner: idle(4), history: [record("2026-01-02T11:59:30Z")], formedAt, now });
  assert.equal(held.desired, 4);
  assert.equal(held.heldUntil?.toISOString(), "2026-01-02T12:00:30.000Z");
  assert.match(held.message!, /may start at 2026-01-02T12:00:30\.000Z/);
  const free = pace({ spec, planner: idle(4), history: [record("2026-01-02T11:58:59Z")], formedAt, now });
  assert.equal(free.desired, 5);
  assert.equal(free.heldUntil, undefined);
  const twoPerMinute = resolveSpec({ replicas: 5, reconfig: { rateLimit: "2/min" } });
  assert.equal(
    pace({ spec: twoPerMinute, planner: idle(4), history: [record("2026-01-02T11:59:30Z")], formedAt, now })
      .desired,
    5,
  );
});

Deno.test("the cluster's first growth to its size is not rate limited, nor counted afterwards", () => {
  const spec = resolveSpec({ replicas: 3, reconfig: { rateLimit: "1/min", maxParallel: 1 } });
  const forming = pace({ spec, planner: idle(2), history: [record("2026-01-02T11:59:50Z")], now });
  assert.equal(forming.desired, 3, "no formedAt yet: not held");
  const grown = resolveSpec({ replicas: 4, reconfig: { rateLimit: "1/min" } });
  const right = pace({
    spec: grown,
    planner: idle(3),
    history: [record("2026-01-02T11:59:50Z")],
    formedAt: "2026-01-02T11:59:55Z",
    now,
  });
  assert.equal(right.desired, 4, "the formation's own changes do not count against the limit");
});

import assert from "node:assert/strict";
import { randomRun } from "./random_run.ts";
import { runBug } from "./bug_scenarios.ts";
import { InvariantChecker } from "./invariants.ts";
import type { Entry } from "../raft/mod.ts";

const entry = (index: number, term: number, text: string): Entry => ({
  index,
  term,
  type: "normal",
  data: new TextEncoder().encode(text),
});
const view = (id: number, entries: Entry[]) => ({
  id,
  snapshotIndex: 0,
  lastIndex: entries.length,
  entryAt: (i: number) => entries[i - 1],
});

Deno.test("the invariant checker catches each kind of violation", () => {
  const c = new InvariantChecker(() => 0);
  c.onLeader(2, view(1, []));
  c.onLeader(2, view(2, []));
  assert.equal(c.violations.at(-1)?.invariant, "ElectionSafety");
  c.onPersist(1, [entry(1, 1, "a")]);
  c.onPersist(2, [entry(1, 1, "b")]);
  assert.equal(c.violations.at(-1)?.invariant, "LogMatching");
  c.onCommit(view(1, [entry(1, 1, "a")]), 0, 1);
  c.onCommit(view(2, [entry(1, 2, "c")]), 0, 1);
  assert.equal(c.violations.at(-1)?.invariant, "StateMachineSafety");
  c.onLeader(3, view(3, [entry(1, 3, "d")]));
  assert.equal(c.violations.at(-1)?.invariant, "LeaderCompleteness");
  c.onApply(1, entry(5, 1, "x"));
  c.onApply(2, entry(5, 1, "y"));
  assert.equal(c.violations.at(-1)?.invariant, "StateMachineSafety");
  c.checkLogPrefixes([
    view(1, [entry(1, 1, "a"), entry(2, 2, "z")]),
    view(2, [entry(1, 1, "b"), entry(2, 2, "z")]),
  ]);
  assert.equal(c.violations.at(-1)?.invariant, "LogMatching");
});

Deno.test("random runs in safe mode never violate an invariant", () => {
  let committed = 0, changes = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const r = randomRun({ seed, mode: "safe", durationMs: 4000 });
    assert.deepEqual(
      r.violations,
      [],
      `seed ${seed}: replay with deno task sim --scenario random --safety-mode safe --seed ${seed} --trace`,
    );
    committed += r.committed;
    changes += r.confChanges;
  }
  assert.ok(committed > 40 * 100, `the runs must make progress (committed ${committed})`);
  assert.ok(changes > 40 * 3, `the runs must change membership (${changes} changes)`);
});

Deno.test("runs are deterministic: a seed replays exactly", () => {
  const a = randomRun({ seed: 77, mode: "safe", durationMs: 2000 });
  const b = randomRun({ seed: 77, mode: "safe", durationMs: 2000 });
  assert.equal(a.steps, b.steps);
  assert.equal(a.committed, b.committed);
});

Deno.test("bug1 breaks unsafe-early-vote on every seed and never breaks safe", () => {
  for (let seed = 1; seed <= 15; seed++) {
    assert.ok(
      runBug("bug1", seed, "unsafe-early-vote").violations.length > 0,
      `bug1 seed ${seed} did not reproduce`,
    );
    const safe = runBug("bug1", seed, "safe");
    assert.deepEqual(safe.violations, []);
    assert.equal(safe.splitBrainLeader, false);
  }
});

Deno.test("bug2 breaks unsafe-no-joint on every seed and never breaks safe", () => {
  for (let seed = 1; seed <= 10; seed++) {
    assert.ok(
      runBug("bug2", seed, "unsafe-no-joint").violations.length > 0,
      `bug2 seed ${seed} did not reproduce`,
    );
    const safe = runBug("bug2", seed, "safe");
    assert.deepEqual(safe.violations, []);
    assert.equal(safe.splitBrainLeader, false);
  }
});

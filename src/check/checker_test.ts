import assert from "node:assert/strict";
import { checkHistory } from "./checker.ts";
import { HistoryRecorder, parseJsonlHistory } from "./history.ts";
import { HistoryBuilder } from "./history_builder.ts";
import { kvModel } from "./kv_model.ts";
import type { Model } from "./model.ts";
import { registerModel } from "./register_model.ts";
import { simulateKvHistory } from "./simulate.ts";

async function verdict(h: HistoryBuilder, model: Model = kvModel) {
  return (await checkHistory(h.build(), { model, workers: 0 })).verdict;
}

const OK = "linearizable";
const BAD = "not linearizable";

Deno.test("classic anomalies are caught", async (t) => {
  await t.step("stale read: a value read after it was overwritten", async () => {
    const h = new HistoryBuilder();
    h.put("x", "a", [0, 10]);
    h.put("x", "b", [20, 30]);
    h.get("x", "a", [40, 50]);
    assert.equal(await verdict(h), BAD);
  });

  await t.step("lost write: an acknowledged put is not visible to a later get", async () => {
    const h = new HistoryBuilder();
    h.put("x", "a", [0, 10]);
    h.get("x", "", [20, 30]);
    assert.equal(await verdict(h), BAD);
  });

  await t.step("read of a value never written", async () => {
    const h = new HistoryBuilder();
    h.put("x", "a", [0, 10]);
    h.get("x", "zzz", [5, 30]);
    assert.equal(await verdict(h), BAD);
  });

  await t.step("read of an aborted write (status fail, so it certainly did not happen)", async () => {
    let now = 0;
    const recorder = new HistoryRecorder({ now: () => now++ });
    const write = recorder.call("c1", "put", "x", "a");
    recorder.fail(write);
    const read = recorder.call("c2", "get", "x");
    recorder.ok(read, "a");
    const { history } = parseJsonlHistory(recorder.toJsonl());
    assert.equal(history.failedCount, 1);
    assert.equal((await checkHistory(history, { model: kvModel, workers: 0 })).verdict, BAD);
  });

  await t.step("a deleted key comes back", async () => {
    const h = new HistoryBuilder();
    h.put("x", "a", [0, 10]);
    h.delete("x", [20, 30]);
    h.get("x", "a", [40, 50]);
    assert.equal(await verdict(h), BAD);
  });

  await t.step("read order inverted: new value, then the old one (Porcupine README example 2)", async () => {
    const h = new HistoryBuilder();
    h.put("x", "200", [0, 100]);
    h.get("x", "200", [10, 30]);
    h.get("x", "", [40, 90]);
    assert.equal(await verdict(h), BAD);
  });

  await t.step("cas reports a swap although the value differed", async () => {
    const h = new HistoryBuilder();
    h.put("x", "a", [0, 10]);
    h.cas("x", "b", "c", true, [20, 30]);
    assert.equal(await verdict(h), BAD);
  });

  await t.step("cas reports no swap although the value matched", async () => {
    const h = new HistoryBuilder();
    h.put("x", "a", [0, 10]);
    h.cas("x", "a", "c", false, [20, 30]);
    assert.equal(await verdict(h), BAD);
  });

  await t.step("appends seen in an order that contradicts real time", async () => {
    const h = new HistoryBuilder();
    h.append("x", "a", [0, 10]);
    h.append("x", "b", [20, 30]);
    h.get("x", "ba", [40, 50]);
    assert.equal(await verdict(h), BAD);
  });
});

Deno.test("correct histories pass", async (t) => {
  await t.step("concurrent puts: a later read may see either, in either order of the puts", async () => {
    for (const seen of ["a", "b"]) {
      const h = new HistoryBuilder();
      h.put("x", "a", [0, 10]);
      h.put("x", "b", [5, 15]);
      h.get("x", seen, [20, 30]);
      assert.equal(await verdict(h), OK, `reading ${seen}`);
    }
  });

  await t.step(
    "a read overlapping a put may see the old or the new value (Porcupine README example 1)",
    async () => {
      const h = new HistoryBuilder();
      h.put("x", "100", [0, 100]);
      h.get("x", "100", [25, 75]);
      h.get("x", "", [30, 60]);
      assert.equal(await verdict(h), OK);
    },
  );

  await t.step("zero-length operations at equal timestamps (closed intervals)", async () => {
    const h = new HistoryBuilder();
    h.put("x", "a", [10, 10]);
    h.get("x", "a", [10, 10]);
    h.get("x", "a", [10, 20]);
    assert.equal(await verdict(h), OK);
  });

  await t.step("appends, deletes and cas in a valid sequence", async () => {
    const h = new HistoryBuilder();
    h.append("x", "a", [0, 10]);
    h.append("x", "b", [20, 30]);
    h.get("x", "ab", [40, 50]);
    h.cas("x", "ab", "c", true, [60, 70]);
    h.cas("x", "ab", "d", false, [80, 90]);
    h.delete("x", [100, 110]);
    h.get("x", "", [120, 130]);
    assert.equal(await verdict(h), OK);
  });
});

Deno.test('an absent key reads as "" but a cas tells absent from "", as the server does', async (t) => {
  await t.step('a cas expecting "" on an absent key finds another value', async () => {
    const h = new HistoryBuilder();
    h.get("x", "", [0, 10]);
    h.cas("x", "", "a", false, [20, 30]);
    h.cas("x", null, "b", true, [40, 50]);
    h.put("x", "", [60, 70]);
    h.get("x", "", [80, 90]);
    h.cas("x", "", "c", true, [100, 110]);
    h.get("x", "c", [120, 130]);
    assert.equal(await verdict(h), OK);
  });

  await t.step('a cas expecting "" cannot swap an absent key', async () => {
    const h = new HistoryBuilder();
    h.cas("x", "", "a", true, [0, 10]);
    assert.equal(await verdict(h), BAD);
  });

  await t.step("a cas expecting absence cannot swap a deleted-then-written key", async () => {
    const h = new HistoryBuilder();
    h.put("x", "a", [0, 10]);
    h.delete("x", [20, 30]);
    h.put("x", "", [40, 50]);
    h.cas("x", null, "b", true, [60, 70]);
    assert.equal(await verdict(h), BAD);
  });
});

Deno.test("unknown-outcome operations", async (t) => {
  await t.step("a timed-out put that took effect", async () => {
    const h = new HistoryBuilder();
    h.put("x", "a", [0, Infinity]);
    h.get("x", "a", [20, 30]);
    assert.equal(await verdict(h), OK);
  });

  await t.step("a timed-out put that did not take effect", async () => {
    const h = new HistoryBuilder();
    h.put("x", "a", [0, Infinity]);
    h.get("x", "", [20, 30]);
    h.put("x", "b", [40, 50]);
    h.get("x", "b", [60, 70]);
    assert.equal(await verdict(h), OK);
  });

  await t.step("a timed-out put that took effect late, after a read that missed it", async () => {
    const h = new HistoryBuilder();
    h.put("x", "a", [0, Infinity]);
    h.get("x", "", [20, 30]);
    h.get("x", "a", [40, 50]);
    assert.equal(await verdict(h), OK);
  });

  await t.step("a timed-out put cannot take effect twice (seen, then gone, then seen again)", async () => {
    const h = new HistoryBuilder();
    h.put("x", "a", [0, Infinity]);
    h.get("x", "a", [20, 30]);
    h.put("x", "b", [40, 50]);
    h.get("x", "a", [60, 70]);
    assert.equal(await verdict(h), BAD);
  });

  await t.step("a timed-out put cannot take effect before it was called", async () => {
    const h = new HistoryBuilder();
    h.get("x", "a", [0, 10]);
    h.put("x", "a", [20, Infinity]);
    assert.equal(await verdict(h), BAD);
  });

  await t.step("a timed-out cas may explain a value, and a crashed read constrains nothing", async () => {
    const h = new HistoryBuilder();
    h.put("x", "a", [0, 10]);
    h.cas("x", "a", "b", true, [20, Infinity]);
    h.get("x", "whatever", [25, Infinity]);
    h.get("x", "b", [40, 50]);
    assert.equal(await verdict(h), OK);
  });

  await t.step("a timed-out blind write after another timed-out op is still found", async () => {
    const h = new HistoryBuilder();
    h.put("x", "a", [0, Infinity]);
    h.put("x", "b", [1, Infinity]);
    h.get("x", "a", [10, 20]);
    h.get("x", "b", [30, 40]);
    assert.equal(await verdict(h), OK);
  });
});

Deno.test("register model", async (t) => {
  await t.step("sequentially consistent but not linearizable", async () => {
    const h = new HistoryBuilder();
    h.write(1, [0, 10]);
    h.write(2, [20, 30]);
    h.read(1, [40, 50]);
    assert.equal(await verdict(h, registerModel), BAD);
  });

  await t.step("three concurrent writes read back in reverse order", async () => {
    const h = new HistoryBuilder();
    h.write(1, [0, 100]);
    h.write(2, [0, 100]);
    h.write(3, [0, 100]);
    h.read(3, [0, 100]);
    h.read(2, [0, 100]);
    h.read(1, [0, 100]);
    assert.equal(await verdict(h, registerModel), OK);
  });

  await t.step("an unknown write concurrent with a read of its value (Knossos README)", async () => {
    const h = new HistoryBuilder();
    h.write(3, [0, Infinity]);
    h.read(3, [5, 10]);
    assert.equal(await verdict(h, registerModel), OK);
  });

  await t.step("the initial value is null", async () => {
    const h = new HistoryBuilder();
    h.read(null, [0, 10]);
    h.add("cas", "", [20, 30], { prev: null, value: 5, output: true });
    h.read(5, [40, 50]);
    assert.equal(await verdict(h, registerModel), OK);
  });
});

Deno.test("evidence: the smallest failing key, the longest prefix and the op where it breaks", async () => {
  const h = new HistoryBuilder();
  // Key "big" fails too, but with more operations: once "x" fails it is not searched (it could not be
  // better evidence), and says so.
  h.put("big", "1", [0, 10]);
  h.put("big", "2", [20, 30]);
  h.get("big", "2", [35, 38]);
  h.get("big", "1", [40, 50]);
  const a = h.put("x", "a", [0, 10]);
  const b = h.put("x", "b", [20, 30]);
  const stale = h.get("x", "a", [40, 50]);
  h.put("y", "c", [0, 10]);
  h.get("y", "c", [20, 30]);
  const result = await checkHistory(h.build(), { model: kvModel, workers: 0 });
  assert.equal(result.verdict, BAD);
  const verdicts = result.partitions.map((p) => [p.key, p.verdict]);
  assert.deepEqual(verdicts, [["big", "unknown"], ["x", BAD], ["y", OK]]);
  assert.match(result.partitions[0].reason ?? "", /another key already shows a violation/);
  assert.equal(result.counterexample?.key, "x");
  assert.deepEqual(result.counterexample?.linearization, [a.id, b.id]);
  assert.equal(result.counterexample?.breakingOpId, stale.id);
  assert.deepEqual(result.partitions[2].linearization.length, 2);
});

Deno.test("a linearizable history reports a full linearization that respects real time", async () => {
  const h = new HistoryBuilder();
  h.put("x", "a", [0, 10]);
  h.put("x", "b", [5, 15]);
  h.get("x", "a", [20, 30]);
  const result = await checkHistory(h.build(), { model: kvModel, workers: 0 });
  assert.equal(result.verdict, OK);
  assert.deepEqual(result.partitions[0].linearization, [1, 0, 2]);
});

Deno.test("a history that does not fit the model is refused with the reason", async () => {
  const h = new HistoryBuilder();
  h.write(1, [0, 10]);
  await assert.rejects(
    () => checkHistory(h.build(), { model: kvModel, workers: 0 }),
    /kv model has no "write"/,
  );
});

Deno.test("a violation on a cheap key cuts the whole check short: the hard keys are not searched on", async () => {
  // Key "hard": 24 clients on one key, which runs for seconds (see the README's limits). Key "x": a stale
  // read found in a handful of steps. Once "x" fails the verdict is settled; before the scheduler looked at
  // the stop flag in its first round, the hard key ran a 200k-step slice first anyway.
  const hard = simulateKvHistory({ operations: 20_000, keys: 1, clients: 24, seed: 11, mix: { append: 30 } });
  const h = new HistoryBuilder();
  for (const op of hard.operations) h.operations.push({ ...op, key: "hard", id: h.operations.length });
  const t0 = 1e12;
  h.put("x", "a", [t0, t0 + 10]);
  h.put("x", "b", [t0 + 20, t0 + 30]);
  h.get("x", "a", [t0 + 40, t0 + 50]);
  const result = await checkHistory(h.build(), { model: kvModel, workers: 0 });
  assert.equal(result.verdict, BAD);
  assert.equal(result.counterexample?.key, "x");
  const hardKey = result.partitions.find((p) => p.key === "hard")!;
  assert.equal(hardKey.verdict, "unknown");
  assert.match(hardKey.reason ?? "", /another key already shows a violation/);
  assert.ok(hardKey.steps <= 4_000, `the hard key ran ${hardKey.steps} steps after the answer was known`);
});

Deno.test("appends read back whole: a wrong order is cut at its first wrong append, not at the read", async () => {
  // 20 clients appending to 4 keys and reading them back (the shape of Porcupine's c50 fixtures). Without
  // the growth check (Model.extendsOnly/canExtend) the search tries every order of the concurrent appends
  // until the read that rules it out is the first remaining return: millions of steps, past any budget.
  const history = simulateKvHistory({
    operations: 2000,
    keys: 4,
    clients: 20,
    seed: 5,
    unknownRate: 0,
    mix: { get: 40, put: 2, append: 58, delete: 0, cas: 0 },
  });
  const steps = (r: { partitions: Array<{ steps: number }> }) =>
    r.partitions.reduce((s, p) => s + p.steps, 0);
  const withCheck = await checkHistory(history, { model: kvModel, workers: 0, timeoutMs: 30_000 });
  assert.equal(withCheck.verdict, OK);
  const plain = { ...kvModel, extendsOnly: undefined, canExtend: undefined };
  const without = await checkHistory(history, { model: plain, workers: 0, timeoutMs: 1_000 });
  assert.ok(
    without.verdict === "unknown" || steps(without) > 5 * steps(withCheck),
    `with the check ${steps(withCheck)} steps, without ${steps(without)} (${without.verdict})`,
  );
  // Still exhaustive: one stale read in the middle makes the same history fail.
  const get = history.operations.find((o) =>
    o.op === "get" && typeof o.output === "string" && o.output.length > 8
  )!;
  const broken = {
    ...history,
    operations: history.operations.map((o) => o === get ? { ...o, output: "zz" } : o),
  };
  assert.equal((await checkHistory(broken, { model: kvModel, workers: 0 })).verdict, BAD);
});

import assert from "node:assert/strict";
import { GenerationalMap } from "./generational_map.ts";

Deno.test("a frozen generation does not change while writes go on, and thaw keeps the writes", () => {
  const m = new GenerationalMap<string, string>();
  for (let i = 0; i < 10; i++) m.set(`k${i}`, `v${i}`);
  const frozen = m.freeze();
  m.set("k1", "new");
  m.delete("k2");
  m.set("k20", "added");
  m.delete("k20");
  m.set("k21", "added");
  m.delete("missing");
  assert.equal(frozen.size, 10);
  assert.equal(frozen.get("k1"), "v1");
  assert.equal(frozen.get("k2"), "v2");
  assert.equal(frozen.has("k21"), false);
  assert.equal(m.get("k1"), "new");
  assert.equal(m.get("k2"), undefined);
  assert.equal(m.get("k20"), undefined);
  assert.equal(m.size, 10);
  assert.throws(() => m.freeze(), /one snapshot at a time/);
  m.thaw();
  assert.equal(m.size, 10);
  assert.equal(m.get("k1"), "new");
  assert.equal(m.has("k2"), false);
  assert.equal(m.get("k21"), "added");
});

Deno.test("a generational map behaves as a Map under random writes across freezes (model check)", () => {
  let seed = 7;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const m = new GenerationalMap<string, string>((k, v) => k.length + v.length);
  const model = new Map<string, string>();
  const weight = (map: ReadonlyMap<string, string>) =>
    [...map].reduce((n, [k, v]) => n + k.length + v.length, 0);
  let frozen: ReadonlyMap<string, string> | undefined;
  let frozenModel: Map<string, string> | undefined;
  for (let step = 0; step < 20_000; step++) {
    const k = `k${rand(200)}`;
    const op = rand(10);
    if (op < 5) {
      m.set(k, `v${step}`);
      model.set(k, `v${step}`);
    } else if (op < 8) assert.equal(m.delete(k), model.delete(k));
    else if (op === 8 && !frozen) {
      frozen = m.freeze();
      frozenModel = new Map(model);
      assert.equal(m.weightFrozen, weight(model));
    } else if (op === 9 && frozen) {
      assert.deepEqual(new Map(frozen), frozenModel);
      m.thaw();
      frozen = undefined;
    }
    assert.equal(m.get(k), model.get(k));
    assert.equal(m.size, model.size);
    if (step % 500 === 0) assert.equal(m.weight, weight(model));
  }
  assert.equal(m.weight, weight(model));
  assert.deepEqual(new Map(m.entries()), model);
});

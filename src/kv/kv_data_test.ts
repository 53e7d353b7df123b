import assert from "node:assert/strict";
import { KvData, utf8Length } from "./kv_data.ts";

Deno.test("a frozen generation does not change while writes go on, and thaw keeps the writes", () => {
  const m = new KvData();
  for (let i = 0; i < 10; i++) m.set(`k${i}`, `v${i}`, i);
  const frozen = m.freeze();
  m.set("k1", "new", 11);
  m.delete("k2");
  m.set("k20", "added", 12);
  m.delete("k20");
  m.set("k21", "added", 13);
  m.delete("missing");
  assert.equal(frozen.size, 10);
  const pairs = new Map([...frozen.pairs()].map(([k, v, mod]) => [k, [v, mod]]));
  assert.deepEqual(pairs.get("k1"), ["v1", 1]);
  assert.deepEqual(pairs.get("k2"), ["v2", 2]);
  assert.equal(pairs.has("k21"), false);
  assert.equal(m.get("k1"), "new");
  assert.equal(m.modIndex("k1"), 11);
  assert.equal(m.get("k2"), undefined);
  assert.equal(m.modIndex("k2"), undefined);
  assert.equal(m.get("k20"), undefined);
  assert.equal(m.size, 10);
  assert.throws(() => m.freeze(), /one snapshot at a time/);
  m.thaw();
  assert.equal(m.size, 10);
  assert.equal(m.get("k1"), "new");
  assert.equal(m.modIndex("k1"), 11);
  assert.equal(m.has("k2"), false);
  assert.equal(m.get("k21"), "added");
  assert.equal(m.modIndex("k21"), 13);
});

Deno.test("utf8Length counts what TextEncoder writes", () => {
  for (const s of ["", "abc", "é€😀ж", "x😀", "\ud800", "a\udc00b", "\ud83d"]) {
    assert.equal(utf8Length(s), new TextEncoder().encode(s).length, JSON.stringify(s));
  }
});

Deno.test("the data behaves as a Map under random writes across freezes (model check)", () => {
  let seed = 7;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const m = new KvData();
  const model = new Map<string, [string, number]>();
  const weight = (map: ReadonlyMap<string, [string, number]>) =>
    [...map].reduce((n, [k, [v]]) => n + utf8Length(k) + utf8Length(v), 0);
  let frozen: ReturnType<KvData["freeze"]> | undefined;
  let frozenModel: Map<string, [string, number]> | undefined;
  for (let step = 0; step < 20_000; step++) {
    const k = rand(7) ? `k${rand(200)}` : `ключ${rand(20)}`;
    const op = rand(10);
    if (op < 5) {
      const v = `v${step}`.padEnd(rand(300), step % 3 ? "x" : "€");
      m.set(k, v, step);
      model.set(k, [v, step]);
    } else if (op < 8) assert.equal(m.delete(k), model.delete(k));
    else if (op === 8 && !frozen) {
      frozen = m.freeze();
      frozenModel = new Map(model);
      assert.equal(frozen.weight, weight(model));
    } else if (op === 9 && frozen) {
      assert.deepEqual(new Map([...frozen.pairs()].map(([k, v, mod]) => [k, [v, mod]])), frozenModel);
      m.thaw();
      frozen = undefined;
    }
    assert.equal(m.get(k), model.get(k)?.[0]);
    assert.equal(m.modIndex(k), model.get(k)?.[1]);
    assert.equal(m.size, model.size);
    if (step % 500 === 0) assert.equal(m.weight, weight(model));
  }
  assert.equal(m.weight, weight(model));
  assert.deepEqual(new Map([...m.entriesWithModIndex()].map(([k, v, mod]) => [k, [v, mod]])), model);
});

import assert from "node:assert/strict";
import { ValueArena } from "./value_arena.ts";
import { SIZE_CLASS_PAIRS } from "./testdata/size_class_pairs.ts";

const MB = 1024 * 1024;

Deno.test("the arena keeps each key's latest value and modIndex through overwrites and deletes", () => {
  const a = new ValueArena();
  a.set("a", "1", 3);
  a.set("b", "two", 4);
  a.set("a", "one again", 5);
  assert.equal(a.get("a"), "one again");
  assert.equal(a.modIndex("a"), 5);
  assert.equal(a.get("b"), "two");
  assert.equal(a.delete("b"), true);
  assert.equal(a.delete("b"), false);
  assert.equal(a.get("b"), undefined);
  assert.equal(a.modIndex("b"), undefined);
  a.set("b", "", 9); // an empty value is a value
  assert.equal(a.get("b"), "");
  assert.equal(a.has("b"), true);
  a.set("u", "ключ €😀ü", 10);
  assert.equal(a.get("u"), "ключ €😀ü");
  assert.equal(a.size, 3);
  assert.equal(
    a.weight,
    "a".length + 9 + "b".length + 0 + "u".length + new TextEncoder().encode("ключ €😀ü").length,
  );
  assert.deepEqual([...a.entries()], [["a", "one again", 5], ["b", "", 9], ["u", "ключ €😀ü", 10]]);
});

Deno.test("overwritten values are reclaimed: the arena stays near the live bytes under random overwrites", () => {
  const a = new ValueArena();
  const keys = 20_000;
  const value = (i: number, round: number) => `${round}:${i}:`.padEnd(500, "v");
  for (let i = 0; i < keys; i++) a.set(`key-${i}`, value(i, 0), i);
  const live = a.stats().liveBytes;
  let seed = 1;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const latest = new Map<number, [round: number, mod: number]>();
  for (let i = 0; i < keys; i++) latest.set(i, [0, i]);
  for (let w = 1; w <= 200_000; w++) {
    const i = rand(keys);
    a.set(`key-${i}`, value(i, w), w);
    latest.set(i, [w, w]);
  }
  const s = a.stats();
  assert.ok(s.compactions > 0, "compaction ran");
  assert.equal(s.liveBytes, live, "same keys, same value sizes: same live bytes");
  // Dead bytes at most a quarter of the live ones or two slabs, plus what one step leaves behind.
  assert.ok(s.deadBytes <= Math.max(8 * MB, live / 4) + 4 * MB, `dead ${s.deadBytes} vs live ${live}`);
  assert.ok(s.allocatedBytes <= live * 1.25 + 16 * MB, `allocated ${s.allocatedBytes} vs live ${live}`);
  assert.equal(s.allocatedBytes, s.liveBytes + s.deadBytes + (s.allocatedBytes - s.liveBytes - s.deadBytes));
  for (let i = 0; i < keys; i++) {
    const [round, mod] = latest.get(i)!;
    assert.equal(a.get(`key-${i}`), value(i, round));
    assert.equal(a.modIndex(`key-${i}`), mod);
  }
});

Deno.test("deleting most keys gives the slabs back", () => {
  const a = new ValueArena();
  for (let i = 0; i < 200_000; i++) a.set(`key-${i}`, "x".repeat(400));
  const full = a.stats().allocatedBytes;
  for (let i = 0; i < 200_000; i++) if (i % 10 !== 0) a.delete(`key-${i}`);
  const s = a.stats();
  assert.equal(a.size, 20_000);
  assert.ok(s.allocatedBytes < full / 3, `allocated ${s.allocatedBytes} of ${full} after deleting 90%`);
  for (let i = 0; i < 200_000; i += 10) assert.equal(a.get(`key-${i}`), "x".repeat(400));
  for (let i = 0; i < 200_000; i++) a.delete(`key-${i}`);
  assert.equal(a.size, 0);
  assert.ok(a.stats().allocatedBytes <= 4 * MB, "empty: at most the current slab");
  assert.equal(a.weight, 0);
});

Deno.test("values larger than a slab's quarter get a slab of their own, freed when replaced", () => {
  const a = new ValueArena();
  const big = "b".repeat(3 * MB);
  a.set("shared", "m".repeat(600_000)); // long, but under a quarter slab: shares a slab
  a.set("small", "s");
  a.set("big", big, 1);
  assert.equal(a.get("big"), big);
  const withBig = a.stats().allocatedBytes;
  a.set("big", "now small", 2);
  assert.equal(a.get("big"), "now small");
  assert.ok(a.stats().allocatedBytes < withBig - 2 * MB, "the big value's slab is dropped at once");
  assert.equal(a.get("small"), "s");
  assert.equal(a.get("shared"), "m".repeat(600_000));
});

Deno.test("the arena behaves as a Map under random writes of mixed sizes and scripts (model check)", () => {
  let seed = 11;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const a = new ValueArena();
  const model = new Map<string, [string, number]>();
  const pieces = ["a", "é", "€", "😀", "ж"];
  for (let step = 1; step <= 40_000; step++) {
    const k = rand(5) ? `k${rand(2_000)}` : `ключ-😀-${rand(300)}`;
    if (rand(10) < 7) {
      const size = rand(50) === 0 ? 20_000 + rand(400_000) : rand(700);
      // Whole code points (a lone surrogate would not survive UTF-8, nor msgpack, nor JSON).
      const v = pieces[rand(pieces.length)].repeat(1 + (size >> 1));
      a.set(k, v, step);
      model.set(k, [v, step]);
    } else assert.equal(a.delete(k), model.delete(k));
    assert.equal(a.get(k), model.get(k)?.[0]);
    assert.equal(a.size, model.size);
  }
  for (const [k, [v, mod]] of model) {
    assert.equal(a.get(k), v);
    assert.equal(a.modIndex(k), mod);
  }
  const s = a.stats();
  assert.ok(s.compactions > 0);
  assert.ok(s.allocatedBytes <= s.liveBytes * 1.25 + 16 * MB + 3 * 400_000, JSON.stringify(s));
});

Deno.test("image frames encoded from the arena's bytes decode to the pairs (every msgpack size class)", async () => {
  const { kvPackr } = await import("./codec.ts");
  const a = new ValueArena();
  const pairs: Array<readonly [string, string, number]> = [
    ...SIZE_CLASS_PAIRS,
    ["big-index", "v", 2 ** 32 - 1],
    ["bigger-index", "v", 2 ** 32],
    ["max-index", "v", Number.MAX_SAFE_INTEGER],
  ];
  for (const [k, v, mod] of pairs) a.set(k, v, mod);
  a.set("gone", "soon", 5);
  a.set("after", "the hole", 6);
  a.delete("gone"); // a free slot in the middle is skipped
  const expected = [...pairs, ["after", "the hole", 6]];
  const decoded: unknown[] = [];
  let frames = 0;
  for (let from = 0; from < a.slotEnd;) {
    // Small frames (several of them), each written at an offset into a larger buffer.
    let room: { buffer: Uint8Array; at: number } | undefined;
    const frame = a.encodeFrame(
      from,
      1000,
      (bytes) => (room = { buffer: new Uint8Array(bytes + 10), at: 7 }),
    );
    const flat = kvPackr.unpack(room!.buffer.subarray(7, 7 + frame.bytes)) as unknown[];
    assert.equal(flat.length, frame.pairs * 3);
    for (let i = 0; i < flat.length; i += 3) decoded.push(flat.slice(i, i + 3));
    from = frame.next;
    frames++;
  }
  assert.ok(frames > 1);
  assert.deepEqual(decoded, expected);
});

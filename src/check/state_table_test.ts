import assert from "node:assert/strict";
import { StateTable, textHash } from "./state_table.ts";

Deno.test("a text gets one id however it was built: interned whole or appended piece by piece", () => {
  const table = new StateTable();
  const absent = table.intern(null);
  const pieces = ["x 0 0 y", "x 1 0 y", "", "ü😀", "x 0 0 y"];
  let id = absent;
  let text = "";
  for (const piece of pieces) {
    id = table.internAppended(id, piece, textHash(piece));
    text += piece;
    assert.equal(table.value(id), text);
    assert.equal(table.intern(text), id, `whole "${text}" and appended differ`);
  }
  // From null, an append starts from "": the same id as the piece interned alone.
  assert.equal(table.internAppended(absent, "ab", textHash("ab")), table.intern("ab"));
  assert.equal(table.intern(null), absent);
  assert.equal(table.intern(""), table.internAppended(absent, "", textHash("")));
});

Deno.test("texts that share a hash keep distinct ids; other states are kept apart from texts", () => {
  // Found by a birthday search: two texts with the same polynomial hash.
  assert.equal(textHash("k167a3a").hash, textHash("k50a502").hash);
  const table = new StateTable();
  const a = table.intern("k167a3a");
  const b = table.intern("k50a502");
  assert.notEqual(a, b);
  assert.equal(table.value(a), "k167a3a");
  assert.equal(table.value(b), "k50a502");
  assert.equal(table.intern("k167a3a"), a);
  assert.equal(table.internAppended(table.intern("k50"), "a502", textHash("a502")), b);
  assert.notEqual(table.intern(1), table.intern("1"));
  assert.notEqual(table.intern(true), table.intern("true"));
  assert.equal(table.intern(1), table.intern(1));
});

Deno.test("internAppended refuses a parent that is not text", () => {
  const table = new StateTable();
  assert.throws(() => table.internAppended(table.intern(7), "x", textHash("x")), /not text/);
});

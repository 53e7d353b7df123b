import assert from "node:assert/strict";
import { explainSplitBrain, explainStaleRead } from "./explain.ts";
import type { Acknowledged } from "./workload.ts";

const n1 = { endpoint: "http://n1", description: "node 1 (leader of {1,2} in term 2)" };
const n3 = { endpoint: "http://n3", description: "node 3 (leader of {3,4,5} in term 3)" };
const op = (
  a: Partial<Acknowledged> & Pick<Acknowledged, "endpoint" | "op" | "key" | "value" | "call" | "ret">,
) => ({ client: "c0", ...a }) as Acknowledged;

Deno.test("explainStaleRead names the missed write, its index and the leader that served the read", () => {
  const acks = [
    op({ endpoint: n1.endpoint, op: "put", key: "k1", value: "c0-1", index: 10, call: 0, ret: 100 }),
    op({ endpoint: n1.endpoint, op: "put", key: "k1", value: "c0-2", index: 12, call: 1000, ret: 1100 }),
    op({ client: "c4", endpoint: n3.endpoint, op: "get", key: "k1", value: "c0-1", call: 2000, ret: 2010 }),
  ];
  const text = explainStaleRead(acks, 0, n1, n3)!;
  assert.match(text, /at 2\.00 s client c4 read key k1 from node 3 .* got "c0-1"/);
  assert.match(text, /k1 = "c0-2" had already been acknowledged at 1\.10 s by node 1 .* at log index 12/);
});

Deno.test("explainStaleRead: a read of the newest value, or of a later write, is not stale", () => {
  const acks = [
    op({ endpoint: n1.endpoint, op: "put", key: "k1", value: "a", call: 0, ret: 100 }),
    op({ endpoint: n3.endpoint, op: "get", key: "k1", value: "a", call: 200, ret: 210 }),
    op({ endpoint: n3.endpoint, op: "put", key: "k1", value: "b", call: 300, ret: 400 }),
    op({ endpoint: n1.endpoint, op: "put", key: "k1", value: "c", call: 350, ret: 380 }),
    op({ endpoint: n3.endpoint, op: "get", key: "k1", value: "b", call: 500, ret: 510 }),
  ];
  assert.equal(explainStaleRead(acks, 0, n1, n3), undefined);
});

Deno.test("explainSplitBrain names the index committed twice and both leaders", () => {
  const acks = [
    op({ endpoint: n1.endpoint, op: "put", key: "k0", value: "c0-17", index: 41, call: 0, ret: 2100 }),
    op({
      client: "c3",
      endpoint: n3.endpoint,
      op: "put",
      key: "k2",
      value: "c3-9",
      index: 41,
      call: 0,
      ret: 2300,
    }),
    op({ endpoint: n1.endpoint, op: "put", key: "k0", value: "x", index: 40, call: 0, ret: 50 }),
  ];
  const text = explainSplitBrain(acks, 0, n1, n3)!;
  assert.match(text, /log index 41 was committed twice/);
  assert.match(text, /node 1 \(leader of \{1,2\} in term 2\) acknowledged k0 = "c0-17"/);
  assert.match(text, /node 3 \(leader of \{3,4,5\} in term 3\) acknowledged k2 = "c3-9"/);
  assert.equal(explainSplitBrain(acks.slice(0, 1), 0, n1, n3), undefined);
  // After healing the sides share one log: writes acknowledged then prove nothing.
  assert.equal(explainSplitBrain(acks, 0, n1, n3, 0, 2200), undefined);
});

Deno.test("explainSplitBrain without an index seen twice: both sides' writes while cut off, and where they overlap", () => {
  const acks = [
    op({ endpoint: n1.endpoint, op: "put", key: "k0", value: "a", index: 11, call: 10, ret: 20 }),
    op({ endpoint: n1.endpoint, op: "put", key: "k0", value: "b", index: 13, call: 30, ret: 40 }),
    op({ endpoint: n3.endpoint, op: "put", key: "k1", value: "c", index: 12, call: 10, ret: 25 }),
    op({ endpoint: n3.endpoint, op: "put", key: "k1", value: "d", index: 14, call: 30, ret: 45 }),
  ];
  const text = explainSplitBrain(acks, 0, n1, n3, 5, 100)!;
  assert.match(text, /node 1 .* acknowledged 2 writes at log indexes 11-13/);
  assert.match(text, /node 3 .* acknowledged 2 writes at log indexes 12-14/);
  assert.match(text, /From index 12 to 13 the same log positions hold different entries/);
});

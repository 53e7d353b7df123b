import assert from "node:assert/strict";
import { encodeCommand, type KvCommand } from "./commands.ts";
import { kvPackr } from "./codec.ts";
import { KvStateMachine } from "./state_machine.ts";

const apply = (sm: KvStateMachine, index: number, command: KvCommand) =>
  sm.applyCommand({ term: 1, index, type: "normal", data: encodeCommand(command) });

Deno.test("each key keeps the index of the write that set it, not the node's applied index", () => {
  const sm = new KvStateMachine();
  apply(sm, 3, { op: "put", key: "a", value: "1" });
  apply(sm, 4, { op: "put", key: "b", value: "1" });
  apply(sm, 5, { op: "cas", key: "a", prev: "1", value: "2" });
  apply(sm, 6, { op: "cas", key: "b", prev: "nope", value: "3" }); // no swap: b keeps index 4
  apply(sm, 7, { op: "put", key: "c", value: "1" });
  apply(sm, 8, { op: "delete", key: "c" });
  assert.equal(sm.modIndexOf("a"), 5);
  assert.equal(sm.modIndexOf("b"), 4);
  assert.equal(sm.modIndexOf("c"), undefined);
  apply(sm, 9, { op: "put", key: "c", value: "again" });
  assert.equal(sm.modIndexOf("c"), 9);

  const copy = KvStateMachine.decode(sm.encode());
  assert.deepEqual([...copy.data], [...sm.data]);
  assert.deepEqual(["a", "b", "c"].map((k) => copy.modIndexOf(k)), [5, 4, 9], "snapshots keep the indexes");
});

Deno.test("a snapshot of the older format (no indexes) still decodes; its keys' indexes are unknown (0)", () => {
  const old = kvPackr.pack({
    format: 1,
    data: [["a", "1"], ["b", "2"]],
    sessions: [],
    members: [],
    confIndex: 1,
  });
  const sm = KvStateMachine.decode(old);
  assert.equal(sm.get("a"), "1");
  assert.equal(sm.modIndexOf("a"), 0);
  apply(sm, 12, { op: "put", key: "a", value: "new" });
  assert.equal(sm.modIndexOf("a"), 12);
  assert.throws(() => KvStateMachine.decode(kvPackr.pack({ format: 9 })), /unsupported snapshot format 9/);
});

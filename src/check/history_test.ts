import assert from "node:assert/strict";
import { HistoryFormatError, HistoryRecorder, parseJsonlHistory } from "./history.ts";
import { parseHistoryText } from "./load_history.ts";

Deno.test("HistoryRecorder writes what parseJsonlHistory reads back", async (t) => {
  let now = 100;
  const recorder = new HistoryRecorder({ model: "kv", now: () => now += 1.5 });
  const put = recorder.call("c1", "put", "x", "a");
  const cas = recorder.call("c2", "cas", "x", "b", "a");
  const get = recorder.call(3, "get", "x");
  const failed = recorder.call("c4", "delete", "x");
  const timedOut = recorder.call("c5", "append", "y", "z");
  const crashed = recorder.call("c6", "put", "y", "q");
  recorder.ok(put);
  recorder.ok(cas, true);
  recorder.note("partition {n1} | {n2, n3}");
  recorder.ok(get, "b");
  recorder.fail(failed);
  recorder.unknown(timedOut);
  assert.equal(recorder.size, 6);
  assert.equal(recorder.pending, 1);

  const { history, model } = parseJsonlHistory(recorder.toJsonl());
  await t.step("model, annotations and dropped failures", () => {
    assert.equal(model, "kv");
    assert.deepEqual(history.annotations, [{ time: 113.5, text: "partition {n1} | {n2, n3}" }]);
    assert.equal(history.failedCount, 1);
  });
  await t.step("operations with their outcome, in call order", () => {
    const byId = new Map(history.operations.map((o) => [o.id, o]));
    assert.deepEqual(history.operations.map((o) => o.id), [put, cas, get, timedOut, crashed]);
    assert.deepEqual(byId.get(put), {
      id: put,
      client: "c1",
      op: "put",
      key: "x",
      value: "a",
      status: "ok",
      call: 101.5,
      ret: 110.5,
    });
    assert.deepEqual(byId.get(cas), {
      id: cas,
      client: "c2",
      op: "cas",
      key: "x",
      value: "b",
      prev: "a",
      output: true,
      status: "ok",
      call: 103,
      ret: 112,
    });
    assert.equal(byId.get(get)?.output, "b");
    assert.equal(byId.get(get)?.client, 3);
    assert.equal(byId.get(timedOut)?.status, "unknown");
    assert.equal(byId.get(timedOut)?.ret, Infinity);
    assert.equal(byId.get(crashed)?.status, "unknown", "a call never completed is unknown");
  });
  await t.step("completing an op twice is a caller bug", () => {
    assert.throws(() => recorder.ok(put), /not waiting for a result/);
  });
  await t.step("writeFile writes the same text", async () => {
    const path = await Deno.makeTempFile({ suffix: ".jsonl" });
    try {
      await recorder.writeFile(path);
      assert.equal(await Deno.readTextFile(path), recorder.toJsonl());
    } finally {
      await Deno.remove(path);
    }
  });
});

Deno.test("without times, the line number is the time", () => {
  const text = [
    `{"type":"call","id":1,"client":1,"op":"put","key":"x","value":"a"}`,
    `{"type":"call","id":2,"client":2,"op":"get","key":"x"}`,
    `{"type":"return","id":1,"status":"ok"}`,
    ``,
    `{"type":"return","id":2,"status":"ok","output":"a"}`,
  ].join("\n");
  const { history } = parseJsonlHistory(text);
  assert.deepEqual(history.operations.map((o) => [o.call, o.ret]), [[0, 2], [1, 4]]);
});

Deno.test("bad JSON Lines histories are refused with the line and the reason", async (t) => {
  const cases: Array<[string, string[], RegExp]> = [
    ["not JSON", [`{"type":"call",`], /history:1: not JSON/],
    ["not an object", [`[1,2]`], /expected a JSON object/],
    ["unknown type", [`{"type":"invoke","id":1}`], /"type" must be call, return, note or meta/],
    ["bad op", [`{"type":"call","id":1,"client":1,"op":"incr","key":"x","time":1}`], /"op" must be one of/],
    ["missing client", [`{"type":"call","id":1,"op":"get","key":"x","time":1}`], /"client" must be/],
    [
      "return without call",
      [`{"type":"return","id":9,"status":"ok","time":1}`],
      /return for id 9 with no call/,
    ],
    ["bad status", [
      `{"type":"call","id":1,"client":1,"op":"get","key":"x","time":1}`,
      `{"type":"return","id":1,"status":"done","time":2}`,
    ], /"status" must be ok, fail or unknown/],
    [
      "time on some lines only",
      [
        `{"type":"call","id":1,"client":1,"op":"get","key":"x","time":1}`,
        `{"type":"return","id":1,"status":"ok"}`,
      ],
      /history:2: "time" must be on every event or on none/,
    ],
    [
      "return before call",
      [
        `{"type":"call","id":1,"client":1,"op":"get","key":"x","time":5}`,
        `{"type":"return","id":1,"status":"ok","time":4}`,
      ],
      /returns at 4, before its call at 5/,
    ],
    [
      "duplicate id",
      [
        `{"type":"call","id":1,"client":1,"op":"get","key":"x","time":1}`,
        `{"type":"call","id":1,"client":2,"op":"get","key":"x","time":2}`,
      ],
      /id 1 is used by two calls/,
    ],
    [
      "object value",
      [`{"type":"call","id":1,"client":1,"op":"put","key":"x","value":{"a":1},"time":1}`],
      /"value" must be a string/,
    ],
  ];
  for (const [name, lines, error] of cases) {
    await t.step(name, () => {
      assert.throws(
        () => parseJsonlHistory(lines.join("\n")),
        (e) => e instanceof HistoryFormatError && error.test(e.message),
      );
    });
  }
});

Deno.test("parseHistoryText tells the formats apart and refuses anything else", () => {
  assert.equal(
    parseHistoryText(`{"type":"call","id":1,"client":1,"op":"get","key":"x"}`).history.operations.length,
    1,
  );
  assert.equal(
    parseHistoryText(`{:process 0, :type :invoke, :f :get, :key "x", :value nil}`).history.operations.length,
    1,
  );
  assert.throws(() => parseHistoryText("\n\n"), /the history is empty/);
  assert.throws(() => parseHistoryText("hello"), /not a history/);
});

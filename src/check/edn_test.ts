import assert from "node:assert/strict";
import { EdnError, Keyword, parseEdn } from "./edn.ts";
import { parseJepsenHistory } from "./jepsen_history.ts";

Deno.test("parseEdn reads the values Jepsen histories use", () => {
  const value = parseEdn(
    `{:process 3, :type :ok, :f :cas, :value [1 "two\\n\\"q\\""], :n nil, :t true, :x -1.5, "k" (1 2)}`,
  );
  assert.ok(value instanceof Map);
  assert.equal(value.get(":process"), 3);
  assert.deepEqual(value.get(":type"), new Keyword("ok"));
  assert.deepEqual(value.get(":value"), [1, 'two\n"q"']);
  assert.equal(value.get(":n"), null);
  assert.equal(value.get(":t"), true);
  assert.equal(value.get(":x"), -1.5);
  assert.deepEqual(value.get('"k"'), [1, 2]);
  assert.throws(() => parseEdn(`{"k" (a)}`), EdnError, "symbols are not supported");
  assert.throws(() => parseEdn(`#{1 2}`), EdnError, "sets are not supported");
  assert.throws(() => parseEdn(`{:a 1`), /unexpected end of input/);
  assert.throws(() => parseEdn(`"abc`), /unterminated string/);
  assert.throws(() => parseEdn(`{:a 1} x`), /unexpected text after the value/);
});

Deno.test("parseJepsenHistory pairs invocations with completions per process", () => {
  const { history } = parseJepsenHistory([
    `{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}`,
    `{:process 1, :type :invoke, :f :get, :key "0", :value nil}`,
    `{:process 0, :type :ok, :f :append, :key "0", :value "x 0 0 y"}`,
    `{:process :nemesis, :type :info, :f :start-partition, :value "majority"}`,
    `{:process 1, :type :ok, :f :get, :key "0", :value "x 0 0 y"}`,
    `{:process 2, :type :invoke, :f :cas, :value [1 2]}`,
    `{:process 2, :type :fail, :f :cas, :value [1 2]}`,
    `{:process 3, :type :invoke, :f :write, :value 4}`,
    `{:process 3, :type :info, :f :write, :value 4}`,
    `{:process 4, :type :invoke, :f :read, :value nil}`,
  ].join("\n"));
  assert.equal(history.failedCount, 1);
  assert.deepEqual(history.annotations, [{ time: 3, text: "info start-partition majority" }]);
  assert.deepEqual(history.operations.map((o) => [o.op, o.key, o.status, o.call, o.ret, o.value, o.output]), [
    ["append", "0", "ok", 0, 2, "x 0 0 y", undefined],
    ["get", "0", "ok", 1, 4, undefined, "x 0 0 y"],
    ["write", "", "unknown", 7, Infinity, 4, undefined],
    ["read", "", "unknown", 9, Infinity, undefined, undefined],
  ]);
});

Deno.test("parseJepsenHistory refuses malformed histories with the line", () => {
  assert.throws(
    () => parseJepsenHistory(`{:process 0, :type :ok, :f :get}`),
    /history:1: :ok for process 0 with no :invoke/,
  );
  assert.throws(() => parseJepsenHistory(`{:process 0, :type :invoke, :f :incr}`), /":f" must be one of/);
  assert.throws(() => parseJepsenHistory(`[1 2]`), /one EDN map per line/);
  assert.throws(
    () => parseJepsenHistory(`{:process 0, :type :invoke, :f :get}\n{:process 0, :type :invoke, :f :get}`),
    /invokes again before its last op completed/,
  );
  assert.throws(
    () => parseJepsenHistory(`{:process 0, :type :invoke, :f :cas, :value 3}`),
    /cas :value must be \[expected new\]/,
  );
});

Deno.test("plain fixture lines read by the regular expression give what the EDN reader gives", () => {
  // Each line in Porcupine's shape, then the same event spelled so that only the EDN reader takes it
  // (another field order, extra spaces): the two histories must be identical, field by field.
  const plain = [
    `{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}`,
    `{:process 12, :type :invoke, :f :get, :key "k 1", :value nil}`,
    `{:process 0, :type :ok, :f :append, :key "0", :value "x 0 0 y"}`,
    `{:process 7, :type :invoke, :f :put, :key "", :value -42}`,
    `{:process 12, :type :ok, :f :get, :key "k 1", :value ""}`,
    `{:process 3, :type :invoke, :f :put, :key "3", :value 17}`,
    `{:process 7, :type :info, :f :put, :key "", :value -42}`,
    `{:process 3, :type :fail, :f :put, :key "3", :value 17}`,
    `{:process 5, :type :invoke, :f :get, :key "9", :value nil}`,
  ];
  const viaEdn = plain.map((line) => {
    const fields = line.slice(1, -1).split(", ");
    return `{ ${fields.reverse().join(" ,  ")} }`;
  });
  const a = parseJepsenHistory(plain.join("\n"));
  const b = parseJepsenHistory(viaEdn.join("\n"));
  assert.equal(a.history.operations.length, 4);
  assert.deepEqual(a, b);
  // A plain-looking line with an escape in its value is not plain: the EDN reader decodes it.
  const escaped = parseJepsenHistory([
    `{:process 0, :type :invoke, :f :put, :key "a", :value "q\\"x"}`,
    `{:process 0, :type :ok, :f :put, :key "a", :value "q\\"x"}`,
  ].join("\n"));
  assert.equal(escaped.history.operations[0].value, 'q"x');
});

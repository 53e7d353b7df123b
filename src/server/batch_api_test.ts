import assert from "node:assert/strict";
import { startTestServer } from "./test_server.ts";
import { MAX_BATCH_PUTS, parseBatch } from "./batch_api.ts";

Deno.test("a batch body is checked whole: every key and value, with the first problem named", () => {
  assert.deepEqual(parseBatch('{"puts":[{"key":"a","value":"1"},{"key":"b","value":""}]}', 10), {
    keys: ["a", "b"],
    values: ["1", ""],
  });
  assert.throws(() => parseBatch("nope", 10), /must be JSON/);
  assert.throws(() => parseBatch('{"puts":[]}', 10), /non-empty array "puts"/);
  assert.throws(() => parseBatch('{"puts":[{"key":"a","value":1}]}', 10), /puts\[0\] must be an object/);
  assert.throws(
    () => parseBatch('{"puts":[{"key":"a","value":"1"},{"key":"..","value":"1"}]}', 10),
    /puts\[1\]:/,
  );
  assert.throws(
    () => parseBatch('{"puts":[{"key":"a","value":"12345678901"}]}', 10),
    /11 bytes; the limit is 10/,
  );
  const many = JSON.stringify({
    puts: Array.from({ length: MAX_BATCH_PUTS + 1 }, () => ({ key: "k", value: "" })),
  });
  assert.throws(() => parseBatch(many, 10), /at most 10000 puts/);
});

Deno.test("POST /kv-batch applies its puts in one entry; a bad batch changes nothing; a retried one applies once", async () => {
  const server = await startTestServer();
  try {
    const post = async (body: unknown, headers: Record<string, string> = {}) => {
      const r = await fetch(`${server.url}/kv-batch`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      });
      return { status: r.status, body: await r.json() };
    };
    const session = { "x-client-id": "loader", "x-request-seq": "1" };
    const puts = Array.from({ length: 500 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
    const first = await post({ puts }, session);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.count, 500);
    const again = await post({ puts }, session);
    assert.deepEqual(again.body, first.body, "the retry is answered from the session, not applied again");

    const bad = await post({ puts: [{ key: "k0", value: "changed" }, { key: "", value: "x" }] });
    assert.equal(bad.status, 400);
    for (const [key, value] of [["k0", "v0"], ["k499", "v499"]]) {
      const r = await fetch(`${server.url}/kv/${key}`);
      assert.equal((await r.json()).value, value);
    }
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const applied = Number(/^raftkv_applied_index (\d+)$/m.exec(metrics)?.[1]);
    assert.ok(applied >= 3 && applied < 10, `500 puts took one entry, not 500 (applied index ${applied})`);
  } finally {
    await server.stop();
  }
});

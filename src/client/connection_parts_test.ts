import assert from "node:assert/strict";
import { EndpointBook, normalizeEndpoint } from "./endpoint_book.ts";
import { exchange } from "./http_exchange.ts";
import { backoffMs, resolveRetryPolicy, retryAfterMs } from "./retry_policy.ts";

Deno.test("endpoint book: normalizes, orders leader first, puts failed URLs last", () => {
  assert.equal(normalizeEndpoint(" http://127.0.0.1:8001/ "), "http://127.0.0.1:8001");
  assert.equal(normalizeEndpoint("https://kv.example:443/base/"), "https://kv.example/base");
  assert.throws(() => normalizeEndpoint("127.0.0.1:8001"), /not (a|an http\(s\)) URL/);

  const book = new EndpointBook(["http://a:1", { id: 2, url: "http://b:2" }, "http://a:1/"], 1_000);
  assert.deepEqual(book.candidates(0), ["http://a:1", "http://b:2"]);
  book.learnMembers({ "3": { peer: "c:9", client: "http://c:3" }, "x": { peer: "", client: "nope" } });
  book.noteAnswer("http://a:1", 3);
  assert.equal(book.leaderUrl(), "http://c:3");
  assert.deepEqual(book.candidates(0), ["http://c:3", "http://a:1", "http://b:2"]);
  book.markDown("http://c:3", 0);
  assert.deepEqual(book.candidates(500), ["http://a:1", "http://b:2", "http://c:3"]);
  assert.deepEqual(
    book.candidates(1_500),
    ["http://c:3", "http://a:1", "http://b:2"],
    "the down mark expires",
  );
  assert.equal(book.nodeOf("http://b:2"), 2);
  assert.deepEqual(book.knownNodes(), [2, 3]);
});

Deno.test("retry policy: Retry-After parsing and capping, backoff bounds, refusal of nonsense", () => {
  const policy = resolveRetryPolicy({ maxRetryAfterMs: 3_000, backoffInitialMs: 100, backoffMaxMs: 400 });
  assert.equal(retryAfterMs("2", policy), 2_000);
  assert.equal(retryAfterMs("0.5", policy), 500);
  assert.equal(retryAfterMs("3600", policy), 3_000);
  assert.equal(retryAfterMs(null, policy), 1_000);
  assert.equal(retryAfterMs("Wed, 21 Oct 2015 07:28:00 GMT", policy), 1_000);
  assert.equal(backoffMs(0, policy, () => 0), 50);
  assert.equal(backoffMs(0, policy, () => 1), 100);
  assert.equal(backoffMs(10, policy, () => 1), 400);
  assert.throws(() => resolveRetryPolicy({ maxAttempts: 0 }), /maxAttempts must be/);
  assert.throws(() => resolveRetryPolicy({ requestTimeoutMs: NaN }), /requestTimeoutMs must be/);
});

Deno.test("exchange: refused is unreachable; a dropped or silent connection is lost", async (t) => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  const client = Deno.createHttpClient({});
  try {
    await t.step("nobody listening", async () => {
      const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const deadPort = closed.addr.port;
      closed.close();
      const result = await exchange(
        client,
        `http://127.0.0.1:${deadPort}`,
        { method: "GET", path: "/" },
        2_000,
      );
      assert.deepEqual(result, { kind: "unreachable", reason: "connection refused" });
    });
    await t.step("accepted, then closed without an answer", async () => {
      const serving = (async () => {
        const conn = await listener.accept();
        await conn.read(new Uint8Array(1024));
        conn.close();
      })();
      const result = await exchange(client, `http://127.0.0.1:${port}`, {
        method: "POST",
        path: "/",
        body: {},
      }, 2_000);
      await serving;
      assert.equal(result.kind, "lost");
    });
    await t.step("accepted, never answered", async () => {
      let held: Deno.Conn | undefined;
      const accepting = listener.accept().then((conn) => held = conn);
      const result = await exchange(client, `http://127.0.0.1:${port}`, { method: "GET", path: "/" }, 200);
      assert.deepEqual(result, { kind: "lost", reason: "no answer within 200 ms" });
      await accepting;
      held?.close();
    });
  } finally {
    client.close();
    listener.close();
  }
});

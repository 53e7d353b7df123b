import assert from "node:assert/strict";
import { type ClientEvent, KvClient, type KvClientOptions } from "./mod.ts";
import { CasMismatchError, KvError, NotFoundError, UnavailableError, UnknownOutcomeError } from "./errors.ts";
import { FakeCluster, type FakeClusterOptions } from "./testing/fake_cluster.ts";

/** Runs `body` with a fresh fake cluster and a client on it, and closes both whatever happens. */
async function withClient(
  clusterOptions: FakeClusterOptions,
  clientOptions: (fake: FakeCluster) => Omit<KvClientOptions, "endpoints"> & Partial<KvClientOptions>,
  body: (client: KvClient, fake: FakeCluster, events: ClientEvent[]) => Promise<void>,
): Promise<void> {
  await using fake = await FakeCluster.start(clusterOptions);
  const events: ClientEvent[] = [];
  await using client = new KvClient({
    endpoints: fake.urls,
    onEvent: (event) => events.push(event),
    ...clientOptions(fake),
  });
  await body(client, fake, events);
}

const writesTo = (fake: FakeCluster, key: string) =>
  fake.requests.filter((request) =>
    request.path === `/kv/${encodeURIComponent(key)}` && request.method !== "GET"
  );

Deno.test("put, get and delete through a follower; answers name the serving node and the leader", async () => {
  await withClient({}, (fake) => ({ endpoints: [fake.url(2)] }), async (client, fake) => {
    const put = await client.put("greeting", "hello");
    const expected = { key: "greeting", value: "hello", index: 0, node: 1, leader: 1, forwardedBy: 2 };
    assert.deepEqual({ ...put, index: 0 }, expected, "node 2 forwards the write to leader 1");
    assert.equal(fake.valueOf("greeting"), "hello");
    const got = await client.get("greeting", { node: fake.url(2) });
    assert.equal(got.value, "hello");
    assert.equal(got.index, put.index);
    assert.deepEqual(
      [got.node, got.leader, got.forwardedBy],
      [2, 1, undefined],
      "node 2 serves reads itself",
    );
    const deleted = await client.delete("greeting");
    assert.equal(deleted.deleted, true);
    assert.ok(deleted.index > put.index);
    await assert.rejects(
      client.get("greeting"),
      (error) => error instanceof NotFoundError && error.status === 404,
    );
    await assert.rejects(client.delete("greeting"), NotFoundError);
  });
});

Deno.test("connections are kept alive: many requests, few connections", async () => {
  await withClient({}, () => ({}), async (client, fake) => {
    await client.status(); // learn the members first, so that every request goes to the leader
    const before = fake.connectionsSeen;
    for (let i = 0; i < 50; i++) {
      await client.put("k", String(i));
      await client.get("k");
      await assert.rejects(client.get("missing"), NotFoundError);
    }
    assert.equal(fake.applied, 50);
    assert.ok(
      fake.connectionsSeen - before <= 2,
      `150 requests opened ${fake.connectionsSeen - before} connections`,
    );
  });
});

Deno.test("keys that need escaping travel intact", async () => {
  await withClient({}, () => ({}), async (client, fake) => {
    for (const key of ["a/b", "sp ace", "ü€😀", "%41", "q?x=1#h", "..x", "-"]) {
      await client.put(key, `value of ${key}`);
      assert.equal(fake.valueOf(key), `value of ${key}`, key);
      assert.equal((await client.get(key)).value, `value of ${key}`, key);
    }
  });
});

Deno.test("learns the leader from X-Raft-Leader and /status, then sends writes to it", async () => {
  await withClient({ leader: 3 }, (fake) => ({ endpoints: [fake.url(1)] }), async (client, fake) => {
    await client.put("k", "1");
    assert.equal(client.leader.id, 3);
    for (let waited = 0; client.leader.url === undefined && waited < 5_000; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(
      client.leader.url,
      fake.url(3),
      "the background /status refresh should have named the leader",
    );
    await client.put("k", "2");
    assert.deepEqual(writesTo(fake, "k").map((request) => request.node), [1, 3]);
  });
});

Deno.test("fails over from a dead node, says so, and follows the new leader", async () => {
  const withIds = (fake: FakeCluster) => ({ endpoints: fake.urls.map((url, i) => ({ id: i + 1, url })) });
  await withClient({}, withIds, async (client, fake, events) => {
    await client.put("k", "1");
    await fake.kill(1);
    fake.setLeader(3);
    const put = await client.put("k", "2");
    assert.equal(put.value, "2");
    const failover = events.find((event) => event.kind === "failover");
    assert.ok(failover?.kind === "failover", `expected a failover event, got ${JSON.stringify(events)}`);
    assert.equal(failover.from.node, 1);
    assert.equal(failover.from.reason, "connection refused");
    await client.put("k", "3");
    assert.equal(writesTo(fake, "k").at(-1)?.node, 3, "the third write should go straight to the new leader");
    assert.equal(fake.applied, 3);
  });
});

Deno.test("a paused node times out and the request moves on; the write still applies once", async () => {
  await withClient({ leader: 2 }, (fake) => ({
    endpoints: [fake.url(1), fake.url(2)],
    retry: { requestTimeoutMs: 300 },
  }), async (client, fake, events) => {
    fake.pause(1);
    const put = await client.put("k", "v");
    assert.equal(put.node, 2);
    assert.ok(
      events.some((event) => event.kind === "failover" && /no answer within 300 ms/.test(event.from.reason)),
    );
    fake.resume(1);
    await client.status(1);
    const seqs = writesTo(fake, "k").map((request) => request.seq);
    assert.deepEqual(seqs, [1, 1], "the retry must reuse the sequence number");
    assert.equal(fake.applied, 1, "the held request, once resumed, must be deduplicated");
  });
});

Deno.test("503 is retried after Retry-After, and a huge Retry-After is capped", async (t) => {
  await withClient({}, () => ({ retry: { maxRetryAfterMs: 2_000 } }), async (client, fake, events) => {
    await client.put("k", "v");
    await client.status(); // learns the members now, so no background /status eats a scripted answer
    await t.step("pinned to one node, the client waits the advertised second each time", async () => {
      fake.scriptAnswers(1, { status: 503, code: "no_leader", retryAfter: 1 }, {
        status: 503,
        code: "not_ready",
        retryAfter: 1,
      });
      const started = performance.now();
      const got = await client.get("k", { node: 1 });
      const elapsed = performance.now() - started;
      assert.equal(got.value, "v");
      assert.ok(elapsed >= 1_900, `two Retry-After: 1 should take about 2 s, took ${elapsed.toFixed(0)} ms`);
      const waits = events.filter((event) => event.kind === "wait");
      assert.equal(waits.length, 2);
      assert.ok(waits.every((event) => event.kind === "wait" && event.ms > 900));
    });
    await t.step("Retry-After: 3600 is shortened to maxRetryAfterMs", async () => {
      fake.scriptAnswers(1, { status: 503, code: "no_leader", retryAfter: 3_600 });
      const started = performance.now();
      await client.get("k", { node: 1 });
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 1_900 && elapsed < 60_000, `took ${elapsed.toFixed(0)} ms`);
    });
    await t.step("every node asking to wait: the client waits, then succeeds", async () => {
      for (const id of [1, 2, 3]) fake.scriptAnswers(id, { status: 503, code: "no_leader", retryAfter: 1 });
      const started = performance.now();
      assert.equal((await client.put("k", "w")).value, "w");
      assert.ok(performance.now() - started >= 900);
      assert.equal(fake.applied, 2);
    });
  });
});

Deno.test("a write whose reply is lost is retried with the same seq and applied once", async (t) => {
  await withClient({}, () => ({ retry: { requestTimeoutMs: 300 } }), async (client, fake) => {
    await t.step("504 timeout from the server", async () => {
      fake.loseWriteReplies(1, "504");
      assert.equal((await client.put("a", "1")).value, "1");
      assert.deepEqual(writesTo(fake, "a").map((request) => request.seq), [1, 1]);
      assert.equal(fake.applied, 1);
    });
    await t.step("no answer at all: the client times out and asks another node", async () => {
      fake.loseWriteReplies(1, "hang");
      assert.equal((await client.put("b", "2")).value, "2");
      const attempts = writesTo(fake, "b");
      assert.deepEqual(attempts.map((request) => request.seq), [2, 2]);
      assert.notEqual(attempts[0].node, attempts[1].node);
      assert.equal(fake.applied, 2);
    });
    await t.step("new writes take new sequence numbers and never overlap on one client id", async () => {
      const values = Array.from({ length: 8 }, (_, i) => String(i));
      await Promise.all(values.map((value) => client.put(`c${value}`, value)));
      const seqs = values.map((value) => writesTo(fake, `c${value}`)[0].seq);
      assert.deepEqual([...seqs].sort((a, b) => a! - b!), [3, 4, 5, 6, 7, 8, 9, 10]);
      assert.equal(fake.overlappingWrites, 0);
      assert.equal(fake.applied, 10);
    });
  });
});

Deno.test("compare-and-swap", async () => {
  await withClient({}, () => ({}), async (client, fake) => {
    assert.equal((await client.put("k", "a", { prevValue: null })).value, "a", "absent key, prevValue null");
    await assert.rejects(client.put("k", "b", { prevValue: null }), (error) => {
      assert.ok(error instanceof CasMismatchError);
      assert.equal(error.current, "a");
      assert.equal(error.status, 409);
      assert.match(error.message, /current value: "a"/);
      return true;
    });
    await assert.rejects(client.put("k", "b", { prevValue: "x" }), CasMismatchError);
    assert.equal((await client.put("k", "b", { prevValue: "a" })).value, "b");
    await assert.rejects(
      client.put("absent", "b", { prevValue: "a" }),
      (error) => error instanceof CasMismatchError && error.current === null,
    );
    assert.equal(fake.valueOf("k"), "b");
  });
});

Deno.test("gives up with UnknownOutcomeError when every reply is lost; retryUnknown applies it once", async () => {
  await withClient({}, () => ({ retry: { maxAttempts: 3, backoffInitialMs: 10 } }), async (client, fake) => {
    fake.loseWriteReplies(100, "504");
    const error = await client.put("k", "v").then(
      () => assert.fail("the put should not succeed"),
      (error: unknown) => error,
    );
    assert.ok(error instanceof UnknownOutcomeError, String(error));
    assert.equal(error.write?.seq, 1);
    assert.equal(error.write?.clientId, client.clientId);
    assert.equal(error.attempts.length, 3);
    assert.match(error.message, /504 timeout/);
    assert.equal(fake.applied, 1, "applied by the first attempt, deduplicated after");

    fake.loseWriteReplies(0);
    const retried = await client.retryUnknown(error);
    assert.ok("value" in retried && retried.value === "v");
    assert.deepEqual(new Set(writesTo(fake, "k").map((request) => request.seq)), new Set([1]));
    assert.equal(fake.applied, 1);

    await client.put("other", "x");
    await assert.rejects(client.retryUnknown(error), /not this client's latest write/);
  });
});

Deno.test("no node reachable: a write is an unknown outcome (a refused connect proves nothing), a read is unavailable", async () => {
  await withClient({}, () => ({}), async (client, fake) => {
    for (const id of [1, 2, 3]) await fake.kill(id);
    const started = performance.now();
    await assert.rejects(client.put("k", "v"), (error) => {
      assert.ok(error instanceof UnknownOutcomeError, String(error));
      assert.match(error.message, /connection refused/);
      return true;
    });
    assert.ok(performance.now() - started < 10_000, "refused everywhere should not wait for the deadline");
    await assert.rejects(client.get("k"), UnavailableError);
  });
});

Deno.test("a write whose node died under it is an unknown outcome, even when Deno reports a refused connect", async () => {
  // The node reads the request and vanishes before answering. Deno's HTTP client then retries the
  // request on a new connection, which is refused, and reports only that: the request did arrive.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  let received = 0;
  const server = (async () => {
    const conn = await listener.accept();
    const buf = new Uint8Array(8192);
    await conn.read(buf);
    received++;
    const body = JSON.stringify({
      id: 1,
      clusterId: "c",
      role: "leader",
      leader: 1,
      members: { 1: { peer: "x:1", client: url } },
    });
    await conn.write(new TextEncoder().encode(
      `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    ));
    await conn.read(buf);
    received++;
    listener.close();
    conn.close();
  })();
  const client = new KvClient({ endpoints: [url], oneAttempt: true });
  try {
    await client.status();
    await assert.rejects(client.put("k", "v"), (error) => {
      assert.ok(
        error instanceof UnknownOutcomeError,
        `the write reached the node, so its outcome is unknown: ${error}`,
      );
      return true;
    });
    assert.equal(received, 2, "the node did receive the write");
  } finally {
    await client.close();
    await server;
  }
});

Deno.test("oneAttempt: exactly one request, no retry, no failover", async (t) => {
  await using fake = await FakeCluster.start();
  const kvRequests = () => fake.requests.filter((request) => request.path.startsWith("/kv/")).length;
  const oneShot = (...ids: number[]) =>
    new KvClient({ endpoints: ids.map((id) => fake.url(id)), oneAttempt: true });

  await t.step("a 503 is reported, not retried", async () => {
    await using client = oneShot(2, 3);
    fake.scriptAnswers(2, { status: 503, code: "no_leader", retryAfter: 1 });
    await assert.rejects(
      client.get("k"),
      (error) => error instanceof UnavailableError && /503 no_leader/.test(error.message),
    );
    assert.equal(kvRequests(), 1);
  });
  await t.step("a dead node is not replaced by another", async () => {
    await using client = oneShot(2, 3);
    await fake.kill(2);
    const before = kvRequests();
    await assert.rejects(
      client.get("k"),
      (error) => error instanceof UnavailableError && /refused/.test(error.message),
    );
    assert.equal(kvRequests(), before, "node 3 must not be asked");
    await fake.revive(2);
  });
  await t.step("a lost write reply is an unknown outcome that the caller can retry", async () => {
    await using client = oneShot(2, 3);
    fake.loseWriteReplies(1, "504");
    const error = await client.put("k", "v").catch((error: unknown) => error);
    assert.ok(error instanceof UnknownOutcomeError, String(error));
    assert.equal(writesTo(fake, "k").length, 1);
    const retried = await client.retryUnknown(error);
    assert.ok("value" in retried && retried.value === "v");
    assert.deepEqual(writesTo(fake, "k").map((request) => request.seq), [1, 1]);
    assert.equal(fake.applied, 1);
  });
});

Deno.test("bad input is refused before anything is sent", async () => {
  await withClient({ maxValueBytes: 10 }, () => ({}), async (client, fake) => {
    const badKeys = ["", "x".repeat(513), "tab\there", "nul\0", ".", "..", "\ud800"];
    for (const key of badKeys) {
      await assert.rejects(
        client.put(key, "v"),
        (error) => error instanceof KvError && error.code === "bad_request" && error.status === 0,
        JSON.stringify(key),
      );
    }
    await assert.rejects(client.get("k", { node: 0 }), /positive integer/);
    await assert.rejects(client.put("k", 5 as unknown as string), /must be a string/);
    assert.equal(fake.requests.length, 0);
    assert.equal((await client.put("é".repeat(256), "v")).key.length, 256, "512 bytes is allowed");
    assert.equal((await client.put("c1\u0085", "v")).value, "v", "C1 controls are allowed, as on the server");
    assert.throws(
      () => new KvClient({ endpoints: fake.urls, clientId: "x".repeat(129) }),
      /1 to 128 characters/,
    );
    await assert.rejects(
      client.put("k", "a value longer than ten bytes"),
      (error) => error instanceof KvError && error.code === "value_too_large" && error.status === 413,
    );
  });
});

Deno.test("--node style targeting by id, and status", async () => {
  await withClient({}, (fake) => ({ endpoints: [fake.url(1)] }), async (client) => {
    await client.put("k", "v");
    assert.equal((await client.get("k", { node: 3 })).node, 3);
    assert.equal((await client.get("k", { node: 2, stale: true })).node, 2);
    await assert.rejects(
      client.get("k", { node: 9 }),
      (error) =>
        error instanceof KvError && error.code === "unknown_node" && /members: 1, 2, 3/.test(error.message),
    );
    const status = await client.status(2);
    assert.equal(status.id, 2);
    assert.equal(status.role, "follower");
    assert.deepEqual(status.conf.voters, [1, 2, 3]);
    assert.equal((await client.status()).role, "leader");
  });
});

Deno.test("closing a client ends a call waiting on a paused node at once: a sent write is an unknown outcome", async () => {
  await withClient({}, () => ({ retry: { requestTimeoutMs: 300 } }), async (client, fake) => {
    await client.status();
    fake.pause(1);
    const pending = client.put("k", "v").then(() => "resolved", (error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await client.close();
    const outcome = await pending;
    assert.ok(
      outcome instanceof UnknownOutcomeError,
      `the write was sent, so its outcome is unknown: ${outcome}`,
    );
    assert.match(outcome.message, /the client was closed before the answer/);
    await assert.rejects(client.get("k"), (error) => error instanceof KvError && error.code === "closed");
  });
});

Deno.test("an endpoint that is not raft-kv gives a clear error; a closed client refuses calls", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("<html>"),
  );
  try {
    const client = new KvClient({ endpoints: [`http://127.0.0.1:${server.addr.port}`] });
    await assert.rejects(
      client.get("k"),
      (error) =>
        error instanceof KvError && error.code === "bad_response" &&
        /raft-kv client endpoint/.test(error.message),
    );
    await client.close();
    await assert.rejects(client.get("k"), (error) => error instanceof KvError && error.code === "closed");
  } finally {
    await server.shutdown();
  }
  assert.throws(() => new KvClient({ endpoints: [] }), /no endpoints/);
  assert.throws(() => new KvClient({ endpoints: ["ftp://x"] }), /not an http\(s\) URL/);
});

/**
 * The server refuses what would break a cluster or the node (issue 8, bugs 5 and 8): a voter
 * without a learner stage in safe mode, a node restarted in another safety mode than its cluster,
 * and request bodies past the limit, with or without Content-Length. In-process, on loopback.
 */
import assert from "node:assert/strict";
import { parseConfig } from "./config.ts";
import { NodeHolder } from "./node_holder.ts";
import { createApp } from "./app.ts";
import { freePort } from "../local/ports.ts";

async function startServer(dataDir: string, extra: string[] = []) {
  const peer = freePort();
  const config = parseConfig([
    "--data-dir",
    dataDir,
    "--node-id",
    "1",
    "--bootstrap",
    "--cluster-id",
    "guards",
    "--listen-peer",
    `127.0.0.1:${peer}`,
    "--advertise-peer",
    `127.0.0.1:${peer}`,
    "--advertise-client",
    "http://127.0.0.1:1",
    "--peer-token",
    "p",
    "--admin-token",
    "a",
    "--tick-ms",
    "10",
    "--max-value-bytes",
    "1024",
    ...extra,
  ], () => undefined);
  const holder = new NodeHolder(config, () => {}, () => {});
  await holder.initialize();
  const app = createApp(holder);
  const deadline = Date.now() + 10_000;
  while (!(holder.node!.isLeader && holder.node!.appliedIndex >= 2)) {
    if (Date.now() > deadline) throw new Error("the single node did not become leader");
    await new Promise((r) => setTimeout(r, 10));
  }
  return { holder, app, node: holder.node! };
}

/** Runs `test` against a fresh single-node server in a temporary directory, then stops and removes both. */
async function withServer(test: (server: Awaited<ReturnType<typeof startServer>>) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "guards-" });
  try {
    const server = await startServer(dir);
    try {
      await test(server);
    } finally {
      await server.node.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const admin = { authorization: "Bearer a", "content-type": "application/json" };

Deno.test("safe mode refuses voters-direct for a node that never was a learner, and changes nothing", async () => {
  await withServer(async ({ app, node }) => {
    const before = { conf: node.confState(), index: node.confIndex };
    const res = await app.request("/admin/voters-direct", {
      method: "POST",
      headers: admin,
      body: JSON.stringify({
        voters: [1, 4],
        members: { "4": { peer: "127.0.0.1:9", client: "http://127.0.0.1:9" } },
      }),
    });
    const body = await res.json();
    assert.equal(res.status, 409, JSON.stringify(body));
    assert.match(
      body.error.message,
      /node 4 is not a learner: in safe mode a new member is added as a learner first/,
    );
    assert.deepEqual({ conf: node.confState(), index: node.confIndex }, before);
    assert.equal(node.memberInfo(4), undefined, "the member directory recorded node 4");
  });
});

Deno.test("a node restarted in another safety mode than its cluster refuses to start, naming both", async () => {
  const dir = await Deno.makeTempDir({ prefix: "guards-" });
  try {
    const { node } = await startServer(dir);
    await node.stop();
    await assert.rejects(
      () => startServer(dir, ["--safety-mode", "unsafe-no-joint"]),
      /bootstrapped in safety mode "safe" but node 1 runs "unsafe-no-joint": every member of a cluster must run the same mode/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a body whose Content-Length is past the limit is answered 413 without being read", async () => {
  await withServer(async ({ app, node }) => {
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 1024;
        controller.enqueue(new Uint8Array(1024).fill(0x61));
      },
    });
    const res = await app.request("/kv/big", {
      method: "POST",
      headers: { "content-length": String(50 * 1024 * 1024) },
      body,
      duplex: "half",
    } as RequestInit);
    const answer = await res.json();
    assert.equal(res.status, 413, JSON.stringify(answer));
    assert.equal(answer.error.code, "body_too_large");
    assert.match(answer.error.message, /over \d+ bytes \(values are limited to/);
    assert.ok(sent <= 2048, `the server read ${sent} bytes of a body it should have refused by its length`);
    assert.equal(node.read("big", true), undefined);
    // Within the limit, the same route takes the write.
    const ok = await app.request("/kv/small", { method: "POST", body: JSON.stringify({ value: "v" }) });
    assert.equal(ok.status, 200, await ok.text());
    assert.equal(node.read("small", true), "v");
  });
});

Deno.test("values are limited in UTF-8 bytes, not characters: one byte over is refused, the limit taken", async () => {
  await withServer(async ({ app, node }) => {
    const limit = 1024; // --max-value-bytes of this server
    const post = (key: string, value: string) =>
      app.request(`/kv/${key}`, { method: "POST", body: JSON.stringify({ value }) });
    const over = await post("over", "\u00e9".repeat(limit / 2) + "x"); // 2-byte characters: limit + 1 bytes
    const answer = await over.json();
    assert.equal(over.status, 413, JSON.stringify(answer));
    assert.equal(answer.error.code, "value_too_large");
    assert.match(answer.error.message, new RegExp(`the value is ${limit + 1} bytes; the limit is ${limit}`));
    assert.equal(node.read("over", true), undefined);
    const atLimit = "\u20ac".repeat((limit - 1) / 3) + "x"; // 3-byte characters, exactly the limit
    const taken = await post("at", atLimit);
    assert.equal(taken.status, 200, await taken.text());
    assert.equal(node.read("at", true), atLimit);
  });
});

Deno.test("a chunked body past the limit is answered 413 without being read whole", async () => {
  await withServer(async ({ app, node }) => {
    let sent = 0;
    const chunk = new Uint8Array(64 * 1024).fill(0x61);
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 50 * 1024 * 1024) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    // No Content-Length: the stream is chunked, 50 MB if read to the end.
    const res = await app.request("/kv/big", { method: "POST", body, duplex: "half" } as RequestInit);
    const answer = await res.json();
    assert.equal(res.status, 413, JSON.stringify(answer));
    assert.equal(answer.error.code, "body_too_large");
    assert.ok(sent < 1024 * 1024, `the server read ${sent} bytes of a body limited to ~6 KB`);
    assert.equal(node.read("big", true), undefined);
  });
});

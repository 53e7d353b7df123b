import assert from "node:assert/strict";
import dgram from "node:dgram";
import { resolverFromEnv } from "./resolver.ts";
import { heartbeat, startNode, waitFor } from "./test_nodes.ts";

/** A DNS server on UDP 127.0.0.1 answering A queries from `records`, NXDOMAIN otherwise. */
async function startDnsServer(records: Record<string, string>) {
  const socket = dgram.createSocket("udp4");
  const queries: string[] = [];
  socket.on("message", (query: Uint8Array, client: { address: string; port: number }) => {
    const labels: string[] = [];
    let offset = 12;
    while (query[offset] !== 0) {
      labels.push(new TextDecoder().decode(query.subarray(offset + 1, offset + 1 + query[offset])));
      offset += 1 + query[offset];
    }
    const question = query.subarray(12, offset + 5);
    const name = labels.join(".");
    queries.push(name);
    const ip = records[name];
    const header = new Uint8Array([
      query[0],
      query[1],
      0x81,
      ip ? 0x80 : 0x83,
      0,
      1,
      0,
      ip ? 1 : 0,
      0,
      0,
      0,
      0,
    ]);
    const answer = ip
      ? new Uint8Array([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, ...ip.split(".").map(Number)])
      : [];
    socket.send(new Uint8Array([...header, ...question, ...answer]), client.port, client.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return {
    address: `127.0.0.1:${socket.address().port}`,
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

Deno.test("resolverFromEnv", async (t) => {
  const dns = await startDnsServer({ "kv-2.kv-peers.default.svc": "127.0.0.1" });
  try {
    await t.step("resolves names through LOCALKUBE_DNS and caches the answer", async () => {
      const resolve = resolverFromEnv(dns.address);
      assert.equal(await resolve("kv-2.kv-peers.default.svc"), "127.0.0.1");
      assert.equal(await resolve("kv-2.kv-peers.default.svc"), "127.0.0.1");
      assert.deepEqual(dns.queries, ["kv-2.kv-peers.default.svc"]);
      assert.equal(await resolve("10.1.2.3"), "10.1.2.3");
      assert.equal(dns.queries.length, 1, "IP literals need no lookup");
    });

    await t.step("an unknown name is an error naming the DNS server", async () => {
      await assert.rejects(
        resolverFromEnv(dns.address)("missing.svc"),
        /cannot resolve "missing\.svc" through DNS server/,
      );
    });

    await t.step("a transport dials a peer by name", async () => {
      const b = await startNode(2);
      const a = await startNode(1, { resolveHost: resolverFromEnv(dns.address) });
      try {
        a.transport.setPeer(2, `kv-2.kv-peers.default.svc:${b.port}`);
        a.transport.send([heartbeat(1, 2, 1, "by name")]);
        await waitFor(() => b.received.length === 1, () => a.logs.join("\n"));
      } finally {
        await a.transport.close();
        await b.transport.close();
      }
    });
  } finally {
    await dns.close();
  }

  await t.step("without LOCALKUBE_DNS names pass through; a malformed value is refused", async () => {
    assert.equal(await resolverFromEnv(undefined)("kv-0.kv"), "kv-0.kv");
    assert.throws(() => resolverFromEnv("dns.local"), /LOCALKUBE_DNS must be "ipv4:port"/);
  });
});

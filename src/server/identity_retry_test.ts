/**
 * POST /admin/identity after a failed start: the node's first start can fail for a passing reason (its
 * peer port still held by a process that is going away); the operator or supervisor then repeats the
 * same assignment. The retry must start the node (not replay the first failure) and must bootstrap when
 * asked, as the first attempt would have: the identity is written before the storage, so a retry finds
 * the identity but still an empty data directory.
 */
import assert from "node:assert/strict";
import { parseConfig } from "./config.ts";
import { NodeHolder } from "./node_holder.ts";

Deno.test("a repeated identity assignment starts a node whose first start failed, bootstrapping as asked", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "raftkv-identity-retry-test-" });
  const squatter = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (squatter.addr as Deno.NetAddr).port;
  const config = parseConfig([
    ...["--data-dir", dataDir, "--cluster-id", "c1", "--listen-client", "127.0.0.1:0"],
    ...["--listen-peer", `127.0.0.1:${port}`, "--peer-token", "p", "--admin-token", "a", "--tick-ms", "10"],
  ], () => undefined);
  const holder = new NodeHolder(config, () => {}, (e) => {
    throw e;
  });
  let squatting = true;
  try {
    await holder.initialize();
    await assert.rejects(holder.assign(1, "c1", true), /cannot listen for peers/);
    assert.equal(holder.node, undefined);
    squatter.close();
    squatting = false;

    const again = await holder.assign(1, "c1", true);
    assert.deepEqual(again, { changed: false });
    const node = holder.require();
    const deadline = Date.now() + 10_000;
    while (!node.isLeader && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(node.isLeader, "bootstrapped: the one-member cluster elects this node");
  } finally {
    if (squatting) squatter.close();
    await holder.node?.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

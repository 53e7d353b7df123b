/**
 * The refuse-admin fault on a real node (one bootstrapped member, in-process): every admin call but
 * the fault endpoint answers 503 until heal; the client API goes on. The membership experiments on
 * Kubernetes use it to keep the operator from changing the old minority's nodes.
 */
import assert from "node:assert/strict";
import { parseConfig } from "./config.ts";
import { NodeHolder } from "./node_holder.ts";
import { createApp } from "./app.ts";

async function withNode(faultInjection: boolean, fn: (app: ReturnType<typeof createApp>) => Promise<void>) {
  const dataDir = await Deno.makeTempDir({ prefix: "raftkv-refuse-admin-test-" });
  const config = parseConfig([
    ...["--data-dir", dataDir, "--node-id", "1", "--bootstrap", "--listen-client", "127.0.0.1:0"],
    ...["--listen-peer", "127.0.0.1:0", "--peer-token", "p", "--admin-token", "a", "--tick-ms", "10"],
    ...(faultInjection ? ["--fault-injection"] : []),
  ], () => undefined);
  const holder = new NodeHolder(config, () => {}, (e) => {
    throw e;
  });
  await holder.initialize();
  try {
    await fn(createApp(holder));
  } finally {
    await holder.node?.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
}

const admin = (method: string, body?: unknown) => ({
  method,
  headers: { authorization: "Bearer a", "content-type": "application/json" },
  ...(body ? { body: JSON.stringify(body) } : {}),
});

Deno.test("refuse-admin: every admin call but /admin/faults answers 503 until heal", async () => {
  await withNode(true, async (app) => {
    assert.equal((await app.request("/admin/config", admin("GET"))).status, 200);
    const set = await app.request("/admin/faults", admin("POST", { action: "refuse-admin" }));
    assert.equal(set.status, 200);
    assert.equal((await set.json()).adminRefused, true);

    for (const [path, init] of [["/admin/config", admin("GET")], ["/admin/calls", admin("GET")]] as const) {
      const r = await app.request(path, init);
      assert.equal(r.status, 503, path);
      assert.equal((await r.json()).error.code, "admin_refused_by_fault");
    }
    const adopt = await app.request("/admin/adopt-config", admin("POST", { voters: [1, 2] }));
    assert.equal(adopt.status, 503, "a change is refused before it is looked at");
    await adopt.body?.cancel();
    const status = await app.request("/status");
    assert.equal(status.status, 200, "the client API is not touched");
    await status.body?.cancel();
    assert.equal((await (await app.request("/admin/faults", admin("GET"))).json()).adminRefused, true);

    const healed = await app.request("/admin/faults", admin("POST", { action: "heal" }));
    assert.equal((await healed.json()).adminRefused, false);
    const config = await app.request("/admin/config", admin("GET"));
    assert.equal(config.status, 200);
    await config.body?.cancel();
  });
});

Deno.test("refuse-admin is refused like every fault when the node runs without fault injection", async () => {
  await withNode(false, async (app) => {
    const r = await app.request("/admin/faults", admin("POST", { action: "refuse-admin" }));
    assert.equal(r.status, 403);
    assert.equal((await r.json()).error.code, "faults_disabled");
    const config = await app.request("/admin/config", admin("GET"));
    assert.equal(config.status, 200);
    await config.body?.cancel();
  });
});

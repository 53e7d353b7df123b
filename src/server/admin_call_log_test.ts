import assert from "node:assert/strict";
import { startTestServer } from "./test_server.ts";
import type { AdminCallRecord } from "./admin_call_log.ts";

const auth = { authorization: "Bearer admin-secret" };

Deno.test("--listen-admin: /admin only on its own port; every change recorded with its caller and chained indexes", async () => {
  const server = await startTestServer(["--listen-admin", "127.0.0.1:0"]);
  try {
    const line = server.logLines.find((l) => /admin API on http:\/\//.test(l)) ??
      await (async () => {
        for (let i = 0; i < 100; i++) {
          const found = server.logLines.find((l) => /admin API on http:\/\//.test(l));
          if (found) return found;
          await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error(`no admin listener in the log:\n${server.logLines.join("\n")}`);
      })();
    const admin = /admin API on (http:\/\/[\d.]+:\d+)/.exec(line)![1];
    assert.notEqual(admin, server.url);

    const onClientPort = await fetch(`${server.url}/admin/config`, { headers: auth });
    assert.equal(onClientPort.status, 404, "the client port serves no admin API");
    await onClientPort.body?.cancel();
    const status = await fetch(`${admin}/status`);
    assert.equal(status.status, 404, "the admin port serves nothing but /admin");
    await status.body?.cancel();

    const call = async (method: string, path: string, body?: unknown, step?: string) => {
      const r = await fetch(`${admin}${path}`, {
        method,
        headers: {
          ...auth,
          "content-type": "application/json",
          "x-raft-admin-caller": "operator-a",
          ...(step ? { "x-raft-admin-step": step } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = await r.json();
      assert.equal(r.status, 200, JSON.stringify(json));
      return json as { index: number; previousIndex?: number; changed: boolean };
    };
    const learner = { id: 2, peer: "127.0.0.1:9", client: "http://127.0.0.1:9", incarnation: "x" };
    const added = await call("POST", "/admin/learners", learner, "AddLearners [1,2]");
    assert.equal(added.changed, true);
    const again = await call("POST", "/admin/learners", learner, "AddLearners [1,2]");
    assert.equal(again.changed, false, "a repeated step changes nothing");
    const removed = await call("DELETE", "/admin/members/2", undefined, "Abort");
    assert.equal(removed.previousIndex, added.index, "proposed on the configuration the first call made");

    const r = await fetch(`${admin}/admin/calls`, { headers: auth });
    const { node, calls } = await r.json() as { node: number; calls: AdminCallRecord[] };
    assert.equal(node, 1);
    assert.deepEqual(
      calls.map((c) => [c.seq, c.caller, c.step, c.method, c.path, c.changed, c.leader]),
      [
        [1, "operator-a", "AddLearners [1,2]", "POST", "/admin/learners", true, true],
        [2, "operator-a", "AddLearners [1,2]", "POST", "/admin/learners", false, true],
        [3, "operator-a", "Abort", "DELETE", "/admin/members/2", true, true],
      ],
    );
    assert.equal(calls[0].index, added.index);
    assert.equal(calls[2].previousIndex, added.index);
    assert.equal(calls[2].index, removed.index);
    const unauthorized = await fetch(`${admin}/admin/calls`);
    assert.equal(unauthorized.status, 401, "the record is behind the admin token too");
    await unauthorized.body?.cancel();
  } finally {
    await server.stop();
  }
});

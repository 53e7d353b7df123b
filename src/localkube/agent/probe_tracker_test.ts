import assert from "node:assert/strict";
import { probeTiming, ProbeTracker } from "./probe_tracker.ts";
import { podConditions, podPhase } from "./pod_status.ts";
import { restartDelayMs, shouldRestart } from "./restart_policy.ts";
import { checkProbe, resolvePort } from "./probe_check.ts";
import { imageRepository, programForImage } from "./image_programs.ts";

Deno.test("probe thresholds", async (t) => {
  await t.step("defaults follow the API", () => {
    assert.deepEqual(probeTiming({}), {
      initialDelayMs: 0,
      periodMs: 10_000,
      timeoutMs: 1_000,
      successThreshold: 1,
      failureThreshold: 3,
    });
  });
  await t.step("readiness starts failed and needs successThreshold successes in a row", () => {
    const p = new ProbeTracker("readiness", probeTiming({ successThreshold: 2, failureThreshold: 2 }));
    assert.equal(p.passing, false);
    assert.equal(p.record(true), false);
    assert.equal(p.record(false), false);
    assert.equal(p.record(true), false);
    assert.equal(p.record(true), true);
    assert.equal(p.passing, true);
    p.record(false);
    assert.equal(p.passing, true, "one failure is under the threshold");
    assert.equal(p.record(false), true);
    assert.equal(p.passing, false);
    assert.equal(p.demandsRestart, false, "readiness never restarts a container");
  });
  await t.step("liveness demands a restart after failureThreshold failures in a row", () => {
    const p = new ProbeTracker("liveness", probeTiming({ failureThreshold: 3 }));
    assert.equal(p.passing, true);
    p.record(false);
    p.record(false);
    p.record(true);
    p.record(false);
    p.record(false);
    assert.equal(p.demandsRestart, false);
    p.record(false);
    assert.equal(p.demandsRestart, true);
  });
});

Deno.test("pod phase and conditions", async (t) => {
  const running = { everStarted: true, running: true, ready: true };
  await t.step("phase", () => {
    assert.equal(podPhase([], "Always"), "Pending");
    assert.equal(
      podPhase([running, { everStarted: false, running: false, ready: false }], "Always"),
      "Pending",
    );
    assert.equal(podPhase([running], "Always"), "Running");
    assert.equal(podPhase([{ everStarted: true, running: false, ready: false }], "Always"), "Running");
    const done = (code: number) => ({ everStarted: true, running: false, ready: false, finalExitCode: code });
    assert.equal(podPhase([done(0), done(0)], "Never"), "Succeeded");
    assert.equal(podPhase([done(0), done(1)], "OnFailure"), "Failed");
  });
  await t.step(
    "Ready needs every container ready and every readiness gate; transition times are kept",
    () => {
      const current = [
        { type: "Ready", status: "False" as const, lastTransitionTime: "t0" },
        { type: "example.com/gate", status: "True" as const },
      ];
      const conditions = podConditions({
        containers: [running],
        sandboxReady: true,
        readinessGates: ["example.com/gate"],
        current,
        now: "t1",
      });
      const ready = conditions.find((c) => c.type === "Ready")!;
      assert.equal(ready.status, "True");
      assert.equal(ready.lastTransitionTime, "t1");
      const again = podConditions({
        containers: [running],
        sandboxReady: true,
        readinessGates: [],
        current: conditions,
        now: "t2",
      });
      assert.equal(again.find((c) => c.type === "Ready")!.lastTransitionTime, "t1");
      const closed = podConditions({
        containers: [running],
        sandboxReady: true,
        readinessGates: ["missing"],
        current: [],
        now: "t",
      });
      assert.equal(closed.find((c) => c.type === "Ready")!.status, "False");
      assert.equal(closed.find((c) => c.type === "ContainersReady")!.status, "True");
    },
  );
});

Deno.test("restart policy and back-off", () => {
  assert.equal(shouldRestart("Always", 0), true);
  assert.equal(shouldRestart(undefined, 0), true);
  assert.equal(shouldRestart("OnFailure", 0), false);
  assert.equal(shouldRestart("OnFailure", 137), true);
  assert.equal(shouldRestart("Never", 1), false);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 50].map(restartDelayMs), [
    1000,
    2000,
    4000,
    8000,
    16000,
    30000,
    30000,
    30000,
  ]);
});

Deno.test("images map to programs of the checkout", () => {
  assert.equal(imageRepository("registry:5000/team/raft-kv:1.2@sha256:abc"), "registry:5000/team/raft-kv");
  assert.equal(programForImage("raft-kv:dev", "/repo")?.script, "/repo/src/server/main.ts");
  assert.equal(
    programForImage("ghcr.io/x/raft-operator:1", "/repo")?.script,
    "/repo/src/operator/raftcluster/main.ts",
  );
  assert.equal(
    programForImage("localkube/echo:latest", "/repo")?.script,
    "/repo/src/localkube/testdata/echo_server.ts",
  );
  assert.equal(programForImage("nginx:1.27", "/repo"), undefined);
  assert.equal(programForImage("raft:1", "/repo"), undefined);
});

Deno.test("probe checks against a real listener", async (t) => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    return new Response(null, { status: new URL(req.url).pathname === "/ok" ? 204 : 503 });
  });
  const port = server.addr.port;
  try {
    await t.step("httpGet: 2xx/3xx pass, others fail; named ports resolve", async () => {
      const ports = [{ name: "http", containerPort: port }];
      assert.equal(resolvePort("http", ports), port);
      assert.deepEqual(
        await checkProbe({ httpGet: { path: "/ok", port: "http" } }, "127.0.0.1", ports, 1000),
        {
          ok: true,
          message: `GET http://127.0.0.1:${port}/ok: HTTP 204`,
        },
      );
      const failed = await checkProbe({ httpGet: { path: "/bad", port } }, "127.0.0.1", [], 1000);
      assert.equal("ok" in failed && failed.ok, false);
      const unnamed = await checkProbe({ httpGet: { port: "nope" } }, "127.0.0.1", [], 1000);
      assert.match("message" in unnamed ? unnamed.message : "", /not a named container port/);
    });
    await t.step("tcpSocket: connects or fails", async () => {
      const ok = await checkProbe({ tcpSocket: { port } }, "127.0.0.1", [], 1000);
      assert.equal("ok" in ok && ok.ok, true);
      const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const closedPort = (closed.addr as Deno.NetAddr).port;
      closed.close();
      const refused = await checkProbe({ tcpSocket: { port: closedPort } }, "127.0.0.1", [], 1000);
      assert.equal("ok" in refused && refused.ok, false);
    });
    await t.step("exec is reported as unsupported", async () => {
      const outcome = await checkProbe({ exec: { command: ["true"] } }, "127.0.0.1", [], 1000);
      assert.match("unsupported" in outcome ? outcome.unsupported : "", /exec probes are not supported/);
    });
  } finally {
    await server.shutdown();
  }
});

/**
 * `deno task ui --kube NAME` against a real kube-apiserver (localkube, no node agent): the
 * RaftCluster's status, its pods and the Events about it reach GET /api/kube and the page's
 * Kubernetes tab. The status is written here by hand (no operator runs): the test checks that
 * the view shows what the API server holds, not the operator's behaviour.
 */
import assert from "node:assert/strict";
import { launchChromium } from "./test_support.ts";
import { localKubeUnavailable, startLocalKube } from "../localkube/testing.ts";
import { KubeConfigH1 } from "../operator/framework/mod.ts";
import { KubeClusterSource } from "./kube_source.ts";
import { LiveFeed } from "./live_feed.ts";
import { ExperimentRuns } from "./experiment_runs.ts";
import { createUiApp } from "./server.ts";
import { bundlePage } from "./bundle.ts";
import type { KubeSnapshot } from "./view_types.ts";
import { kubectl } from "../operator/raftcluster/e2e_support.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("--kube shows a RaftCluster's pods, the operator's status and its Events", async () => {
  const why = await localKubeUnavailable();
  if (why) {
    console.warn(`SKIPPED: localkube cannot run here: ${why}`);
    return;
  }
  const kube = await startLocalKube({ nodeAgent: false, log: () => {} });
  const config = new KubeConfigH1();
  let source: KubeClusterSource | undefined;
  let server: Deno.HttpServer | undefined;
  try {
    const k = (args: string[], stdin?: string) => kubectl(kube.kubectl, kube.kubeconfigPath, args, stdin);
    await k(["apply", "-f", `${ROOT}crds/raftcluster.yaml`]);
    await k(["wait", "--for=condition=Established", "crd/raftclusters.storage.sys", "--timeout=30s"]);
    await k(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "storage.sys/v1",
        kind: "RaftCluster",
        metadata: { name: "demo", namespace: "default" },
        spec: { replicas: 3 },
      }),
    );
    // The operator's status (src/operator/raftcluster/types.ts): the planner state, the change in flight with
    // its steps, and the finished ones.
    const status = {
      phase: "Reconfiguring",
      step: "CatchUp",
      leader: "demo-0",
      voters: [1],
      learners: [2, 3],
      planner: {
        phase: "CatchUp",
        members: [{ slot: 0, id: 1 }],
        adding: [{ slot: 1, id: 2 }, { slot: 2, id: 3 }],
        removing: [],
        targetVoters: [1, 2, 3],
        confIndex: 4,
        nextNodeId: 4,
        catchUpStreak: 1,
        message: "learners caught up, check 1/3",
      },
      reconfig: {
        from: 1,
        to: 3,
        step: "CatchUp",
        startedAt: "2026-01-01T00:00:00Z",
        attempts: 0,
        steps: [
          { step: "AddLearners", startedAt: "2026-01-01T00:00:00Z", durationSeconds: 2 },
          { step: "CatchUp", startedAt: "2026-01-01T00:00:02Z" },
        ],
      },
    };
    await k([
      "patch",
      "raftcluster",
      "demo",
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status }),
    ]);
    await k(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "demo-0", namespace: "default", labels: { "app.kubernetes.io/instance": "demo" } },
        spec: { containers: [{ name: "node", image: "raft-kv:test" }] },
      }),
    );
    await k(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: "demo.catchup", namespace: "default" },
        involvedObject: {
          apiVersion: "storage.sys/v1",
          kind: "RaftCluster",
          name: "demo",
          namespace: "default",
        },
        reason: "CatchUp",
        message: "learners 2,3 are catching up",
        type: "Normal",
        count: 1,
        firstTimestamp: "2026-01-01T00:00:02Z",
        lastTimestamp: "2026-01-01T00:00:02Z",
        source: { component: "raft-operator" },
      }),
    );

    config.loadFromFile(kube.kubeconfigPath);
    source = new KubeClusterSource("demo", "default", config);
    const feed = new LiveFeed(source);
    const app = createUiApp({
      script: await bundlePage(),
      feed,
      kube: source,
      experiments: new ExperimentRuns(kube.stateDir),
      simTraces: [],
    });
    const snapshot = await (await app.request("/api/kube")).json() as KubeSnapshot;
    assert.equal(snapshot.found, true);
    assert.deepEqual(snapshot.pods.map((p) => [p.name, p.phase]), [["demo-0", "Pending"]]);
    assert.equal((snapshot.status as { leader?: string }).leader, "demo-0");
    // Ours, and whatever the real scheduler says about the pod (FailedScheduling: there is no node).
    const events = snapshot.events.map((e) => `${e.reason} ${e.object}`);
    assert.ok(events.includes("CatchUp RaftCluster/demo"), `events: ${events}`);
    assert.ok(
      events.every((e) => e.endsWith("RaftCluster/demo") || e.endsWith("Pod/demo-0")),
      `events: ${events}`,
    );
    const cluster = await feed.snapshot();
    assert.equal(cluster.planner?.phase, "CatchUp");
    assert.deepEqual(cluster.history?.steps.map((s) => s.phase), ["AddLearners", "CatchUp"]);
    assert.equal(cluster.history?.steps[0].durationMs, 2000);
    // A pod with no IP yet has no /status to read: no member is watched, and the page says why not.
    assert.equal(cluster.members.length, 0);

    const missing = await new KubeClusterSource("nope", "default", config).kube();
    assert.equal(missing.found, false);
    assert.match(missing.error!, /no RaftCluster "nope" in namespace "default"/);

    server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${(server.addr as Deno.NetAddr).port}/#kube`, {
        waitUntil: "domcontentloaded",
      });
      await page.waitForSelector("#kube-pods td", { timeout: 10_000 });
      assert.match(await page.$eval("#kube-pods", (el) => el.textContent ?? ""), /demo-0\s*Pending/);
      assert.match(
        await page.$eval("#kube-events", (el) => el.textContent ?? ""),
        /learners 2,3 are catching up/,
      );
      assert.match(
        await page.$eval("#kube-planner", (el) => el.textContent ?? ""),
        /CatchUp: learners caught up/,
      );
    } finally {
      await browser.close();
    }
    feed.close();
  } finally {
    await server?.shutdown();
    await source?.close();
    await kube.stop();
  }
});

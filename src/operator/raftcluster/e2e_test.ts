/**
 * End to end on localkube (a real kube-apiserver, controller-manager and scheduler; raft-kv pods as
 * local processes): a RaftCluster is created with 3 replicas, scaled to 5 while its operator is
 * SIGKILLed mid-reconfiguration and started again, then scaled back to 3 with leadership on a leaving
 * node. A background writer runs throughout; no acknowledged write may be lost, and configuration
 * indexes may only grow. Skipped with one loud line when localkube cannot run here.
 */
import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { AdminClient, KvClient } from "../../client/mod.ts";
import { localKubeUnavailable, startLocalKube } from "../../localkube/testing.ts";
import { findCondition, KubeConfigH1, type KubeObject } from "../framework/mod.ts";
import { waitFor } from "../framework/testing/wait.ts";
import { ClusterApi } from "./cluster_api.ts";
import { BackgroundWriter, kubectl, leaderOf, nodesOf, OperatorProcess } from "./e2e_support.ts";
import { type ClusterRef, secretName } from "./names.ts";
import type { RaftClusterStatus } from "./types.ts";

const CRD = new URL("../../../crds/raftcluster.yaml", import.meta.url).pathname;
const DEMO = new URL("../../../deploy/raftcluster-demo.yaml", import.meta.url).pathname;

Deno.test({
  name: "e2e: RaftCluster create 3 -> scale 5 (operator SIGKILLed midway) -> 3, no acknowledged write lost",
  async fn(t) {
    const why = await localKubeUnavailable();
    if (why) {
      console.warn(`SKIPPED e2e: ${why}`);
      return;
    }
    const kube = await startLocalKube();
    const dir = await Deno.makeTempDir({ prefix: "raftcluster-e2e-" });
    const kubeConfig = new KubeConfigH1();
    kubeConfig.loadFromFile(kube.kubeconfigPath);
    const api = new ClusterApi(kubeConfig);
    const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
    const namespace = "raft-e2e";
    const run = (args: string[], stdin?: string) => kubectl(kube.kubectl, kube.kubeconfigPath, args, stdin);
    const operatorArgs = [
      "--kubeconfig",
      kube.kubeconfigPath,
      "--namespace",
      namespace,
      "--lease-namespace",
      namespace,
      // The same name after a restart, as a restarted container keeps its pod's name: it takes its
      // Lease back at once instead of waiting for it to expire.
      "--identity",
      "operator-e2e",
    ];
    let operator = await OperatorProcess.start(`${dir}/operator-1.log`, operatorArgs);
    let writer: BackgroundWriter | undefined;
    const cluster = async () => (await api.getCluster(namespace, "demo"))!;
    const status = (body: KubeObject) => (body.status ?? {}) as RaftClusterStatus;
    const readyAt = async (replicas: number, timeoutMs: number) =>
      await waitFor(
        `demo Ready with ${replicas} voters`,
        async () => {
          const body = await cluster();
          const s = status(body);
          const ready = findCondition(s.conditions, "Ready");
          return ready?.status === "True" && ready.observedGeneration === body.metadata.generation &&
            s.voters === replicas && s.reconfig?.phase === "Idle" && body;
        },
        timeoutMs,
        200,
      );
    // Configuration indexes seen, per node id and in the persisted status: they may only grow.
    const confIndexes = new Map<number, number>();
    const regressions: string[] = [];
    let persistedConfIndex = 0;
    let watching = true;
    const watchIndexes = (async () => {
      while (watching) {
        const ref = { namespace, name: "demo", uid: "" };
        for (const node of await nodesOf(api, ref).catch(() => [])) {
          const { id, conf } = node.report;
          if (id === undefined || !conf) continue;
          if (conf.index < (confIndexes.get(id) ?? 0)) {
            regressions.push(`node ${id}: configuration index ${confIndexes.get(id)} -> ${conf.index}`);
          }
          confIndexes.set(id, Math.max(conf.index, confIndexes.get(id) ?? 0));
        }
        const body = await api.getCluster(namespace, "demo").catch(() => undefined);
        const persisted = body ? status(body).reconfig?.confIndex ?? 0 : 0;
        if (persisted < persistedConfIndex) {
          regressions.push(`status.reconfig.confIndex ${persistedConfIndex} -> ${persisted}`);
        }
        persistedConfIndex = Math.max(persisted, persistedConfIndex);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const timings: Record<string, string> = {};
    const timed = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      const result = await work();
      timings[what] = `${((performance.now() - started) / 1000).toFixed(1)} s`;
      return result;
    };

    try {
      let ref: ClusterRef = { namespace, name: "demo", uid: "" };

      await t.step("create 3 replicas -> Ready with 3 voters", async () => {
        await run(["apply", "-f", CRD]);
        await run(["wait", "--for=condition=Established", "crd/raftclusters.storage.sys", "--timeout=30s"]);
        await run(["create", "namespace", namespace]);
        const body = await timed("create 3", async () => {
          await run(["apply", "-n", namespace, "-f", DEMO]);
          return await readyAt(3, 90_000);
        });
        ref = { namespace, name: "demo", uid: body.metadata.uid };
        const s = status(body);
        assert.deepEqual(s.members!.map((m) => [m.pod, m.role]), [
          ["demo-0", "voter"],
          ["demo-1", "voter"],
          ["demo-2", "voter"],
        ]);
        const printed = await run(["get", "raftclusters", "-n", namespace, "--no-headers"]);
        assert.match(printed, /^demo\s+3\s+3\s+demo-\d\s+Idle\s+/, "printer columns");
        for (
          const owned of [
            "statefulset/demo",
            "service/demo",
            "service/demo-peers",
            `secret/${secretName(ref)}`,
          ]
        ) {
          const owner = await run([
            "get",
            owned,
            "-n",
            namespace,
            "-o",
            "jsonpath={.metadata.ownerReferences[0].uid}",
          ]);
          assert.equal(owner, ref.uid, `${owned} is owned by the RaftCluster`);
        }
      });

      await t.step("a key written through the leader's pod is read through a follower's pod", async () => {
        const nodes = await nodesOf(api, ref);
        const leader = nodes.find((n) => n.report.role === "leader")!;
        const follower = nodes.find((n) => n.report.role === "follower")!;
        await using client = new KvClient({ endpoints: [leader.url] });
        const put = await client.put("greeting", "hello from e2e", { node: leader.url });
        const got = await client.get("greeting", { node: follower.url });
        assert.equal(got.value, "hello from e2e");
        assert.ok(got.index >= put.index);
        writer = new BackgroundWriter(api, ref);
      });

      await t.step("scale to 5; the operator is SIGKILLed midway and its successor finishes", async () => {
        const historyBefore = status(await cluster()).history!.length;
        const killedIn = await timed("scale 3 -> 5 (operator killed and restarted)", async () => {
          await run([
            "patch",
            "raftcluster",
            "demo",
            "-n",
            namespace,
            "--type=merge",
            "-p",
            '{"spec":{"replicas":5}}',
          ]);
          const phase = await waitFor(
            "a reconfiguration in flight",
            async () => {
              const p = status(await cluster()).reconfig?.phase;
              return p && ["CatchUp", "EnterJoint", "CommitNew", "LeaveJoint"].includes(p) && p;
            },
            60_000,
            50,
          );
          const killed = await operator.stop("SIGKILL");
          assert.equal(killed.signal, "SIGKILL");
          // What the successor resumes from: the phase persisted when the process died.
          const persisted = status(await cluster()).reconfig!.phase;
          assert.notEqual(persisted, "Idle", `killed in ${phase}, yet the persisted phase is Idle`);
          operator = await OperatorProcess.start(`${dir}/operator-2.log`, operatorArgs);
          await readyAt(5, 90_000);
          return persisted;
        });
        console.log(`operator SIGKILLed in phase ${killedIn}`);
        const s = status(await cluster());
        assert.deepEqual(s.members!.map((m) => [m.pod, m.id, m.role]), [
          ["demo-0", 1, "voter"],
          ["demo-1", 2, "voter"],
          ["demo-2", 3, "voter"],
          ["demo-3", 4, "voter"],
          ["demo-4", 5, "voter"],
        ]);
        const phases = s.history!.slice(historyBefore).flatMap((h) => h.phases);
        assertInOrder(phases, ["AddLearners", "CatchUp", "EnterJoint", "CommitNew", "LeaveJoint", "Idle"]);
        assert.match(
          await operator.log(),
          new RegExp(`\\[${namespace}/demo\\] ${killedIn} -> `),
          "the successor went on",
        );
      });

      await t.step(
        "scale to 3 with the leader on a leaving node: leadership moves first, claims go",
        async () => {
          const token = await run([
            "get",
            "secret",
            secretName(ref),
            "-n",
            namespace,
            "-o",
            "jsonpath={.data.admin-token}",
          ]);
          const leader = (await leaderOf(api, ref))!;
          const leaving = (await nodesOf(api, ref)).find((n) => n.slot === 4)!;
          await using admin = new AdminClient({ endpoints: [leader.url], token: atob(token) });
          await admin.transferLeader(leaving.report.id!, { node: leader.url });
          assert.equal((await leaderOf(api, ref))?.slot, 4);
          const historyBefore = status(await cluster()).history!.length;
          await timed("scale 5 -> 3 (leader on a leaving node)", async () => {
            await run([
              "patch",
              "raftcluster",
              "demo",
              "-n",
              namespace,
              "--type=merge",
              "-p",
              '{"spec":{"replicas":3}}',
            ]);
            await readyAt(3, 90_000);
          });
          const s = status(await cluster());
          const phases = s.history!.slice(historyBefore).flatMap((h) => h.phases);
          assertInOrder(phases, [
            "EnterJoint",
            "TransferLeader",
            "CommitNew",
            "LeaveJoint",
            "RemoveMembers",
            "Idle",
          ]);
          assert.ok(["demo-0", "demo-1", "demo-2"].includes(s.leader!), `leader ${s.leader} stays`);
          await waitFor(
            "the removed members' pods and claims to be gone",
            async () => {
              const claims = await api.listClaimNames(namespace, "app.kubernetes.io/instance=demo");
              const pods = await api.listPods(namespace, "app.kubernetes.io/instance=demo");
              return claims.sort().join() === "data-demo-0,data-demo-1,data-demo-2" && pods.length === 3;
            },
            30_000,
            200,
          );
        },
      );

      await t.step(
        "no acknowledged write is lost; configuration indexes only grow; Events tell the steps",
        async () => {
          await writer!.stop();
          const acknowledged = writer!.acknowledged;
          assert.ok(acknowledged.size > 20, `only ${acknowledged.size} writes were acknowledged`);
          const leader = (await leaderOf(api, ref))!;
          await using client = new KvClient({ endpoints: [leader.url] });
          for (const [key, value] of acknowledged) {
            assert.equal(
              (await client.get(key, { node: leader.url })).value,
              value,
              `acknowledged ${key}=${value}`,
            );
          }
          watching = false;
          await watchIndexes;
          assert.deepEqual(regressions, []);
          const history = status(await cluster()).history!;
          for (let i = 1; i < history.length; i++) {
            assert.ok(
              history[i].confIndex >= history[i - 1].confIndex,
              `history ${i}: ${history[i].confIndex}`,
            );
          }
          const events = await core.listNamespacedEvent({
            namespace,
            fieldSelector: "involvedObject.name=demo",
          });
          const reasons = new Set(events.items.filter((e) => e.type === "Normal").map((e) => e.reason));
          for (
            const reason of [
              "Created",
              "Bootstrap",
              "CatchUp",
              "EnterJoint",
              "TransferLeader",
              "RemoveMembers",
              "Idle",
            ]
          ) {
            assert.ok(reasons.has(reason), `a Normal Event ${reason} (got ${[...reasons]})`);
          }
          console.log(
            `e2e: ${acknowledged.size} acknowledged writes (${writer!.failures} failed attempts), ` +
              `timings ${JSON.stringify(timings)}`,
          );
        },
      );
      await t.step("deleting the RaftCluster deletes what it owns, claims included", async () => {
        await run(["delete", "raftcluster", "demo", "-n", namespace, "--wait=true"]);
        await waitFor(
          "the Secret, Services, StatefulSet, pods and claims to be gone",
          async () => {
            const left = await run([
              "get",
              "secrets,services,statefulsets,pods,persistentvolumeclaims",
              "-n",
              namespace,
              "-l",
              "app.kubernetes.io/instance=demo",
              "-o",
              "name",
            ]);
            return left.trim() === "";
          },
          60_000,
          250,
        );
      });
    } catch (error) {
      console.error(
        `--- operator log (tail) ---\n${(await operator.log()).split("\n").slice(-60).join("\n")}`,
      );
      throw error;
    } finally {
      watching = false;
      await watchIndexes.catch(() => {});
      await writer?.stop().catch(() => {});
      await operator.stop("SIGTERM");
      await kubeConfig.closeConnections();
      await kube.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** `expected` appears in `seen` in this order (other phases may come between). */
function assertInOrder(seen: string[], expected: string[]) {
  let at = 0;
  for (const phase of seen) if (phase === expected[at]) at++;
  assert.equal(
    at,
    expected.length,
    `phases ${seen.join(" -> ")} should pass through ${expected.join(" -> ")}`,
  );
}

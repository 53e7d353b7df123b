/**
 * End to end on localkube (a real kube-apiserver, controller-manager and scheduler; raft-kv pods run
 * by its node agent), with the operator as a child process so that it can be SIGKILLed and SIGSTOPped.
 * One cluster goes through the contract in order, with a recorded workload running from the first
 * scale to the end of the rolling upgrade and its history checked linearizable:
 *
 *   the seed YAML verbatim -> Running with 3 ready pods, every field in effect
 *   -> `kubectl scale --replicas=5`: 3 -> 4 -> 5 (maxParallel 1), the second change held by the rate
 *      limit (status says until when) and released by raising it; the operator SIGKILLed mid-change
 *   -> drift (StatefulSet scaled to 1, Services and PDB deleted) undone with no membership change
 *   -> `kubectl patch` back to 3 -> a rolling image upgrade (leader last)
 *   -> the history is linearizable -> the status wiped: rebuilt, never bootstrapped again
 *   -> fencing: the acting operator SIGSTOPped mid-change, a standby takes over, the first resumes
 *      and issues nothing -> ownership: deleted and recreated under the same name, nothing adopted
 *
 * Skipped with one loud line when localkube cannot run here.
 */
import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { AdminClient, KvClient } from "../../client/mod.ts";
import { checkHistory } from "../../check/checker.ts";
import { HistoryRecorder, parseJsonlHistory } from "../../check/history.ts";
import { modelByName } from "../../check/models.ts";
import { verdictLine } from "../../check/summary.ts";
import { RecordedWorkload } from "../../../experiments/lib/workload.ts";
import { type KubeObject } from "../framework/mod.ts";
import { waitFor } from "../framework/testing/wait.ts";
import { ClusterApi } from "./cluster_api.ts";
import { AdminCallCollector, auditAdminCalls } from "./admin_audit.ts";
import type { AdminCallRecord } from "../../server/admin_call_log.ts";
import {
  clusterPostMortem,
  installCrd,
  kubectl,
  leaderOf,
  nodesOf,
  OperatorProcess,
  podProcesses,
  portForward,
  stepper,
  withLocalKube,
} from "./e2e_support.ts";
import { adminUrlOf, type ClusterRef } from "./names.ts";
import type { RaftClusterStatus } from "./types.ts";

const SEED = new URL("../../../deploy/examples/raftcluster-seed.yaml", import.meta.url).pathname;

Deno.test({
  name: "e2e: the seed RaftCluster through scale, drift, upgrade, status loss, fencing and ownership",
  async fn(t) {
    await withLocalKube("raftcluster-e2e-", async ({ kube, kubeConfig, teardown, dir }) => {
      const step = stepper(t);
      /** Every operator process is stopped by the teardown, whichever way the test ends. */
      const startOperator = async (logPath: string, args: string[]): Promise<OperatorProcess> => {
        const started = await OperatorProcess.start(logPath, args);
        teardown.add(`operator (pid ${started.pid})`, () => started.terminate(), { pid: started.pid });
        return started;
      };
      const api = new ClusterApi(kubeConfig);
      const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
      const namespace = "raft-e2e";
      const run = (args: string[], stdin?: string) =>
        kubectl(kube.kubectl, kube.kubeconfigPath, ["-n", namespace, ...args], stdin);
      // Short Lease timings, so that a takeover in the fencing step takes seconds, not 15.
      const operatorArgs = (identity: string) => [
        "--kubeconfig",
        kube.kubeconfigPath,
        "--namespace",
        namespace,
        "--lease-namespace",
        namespace,
        "--identity",
        identity,
        "--lease-duration-ms=6000",
        "--renew-deadline-ms=4000",
        "--retry-period-ms=1000",
      ];
      let operator = await startOperator(`${dir}/operator-a1.log`, operatorArgs("operator-a"));
      let standby: OperatorProcess | undefined;
      let workload: RecordedWorkload | undefined;
      const recorder = new HistoryRecorder({ model: "kv" });
      const get = async () => (await api.getCluster(namespace, "demo"))!;
      const status = (body: KubeObject) => (body.status ?? {}) as RaftClusterStatus;
      const until = async (
        what: string,
        check: (s: RaftClusterStatus, body: KubeObject) => boolean,
        timeoutMs = 90_000,
      ) =>
        await waitFor(
          what,
          async () => {
            const body = await api.getCluster(namespace, "demo");
            return body && check(status(body), body) ? body : undefined;
          },
          timeoutMs,
          200,
        );
      const running = (voters: number) => (s: RaftClusterStatus, body: KubeObject) =>
        s.phase === "Running" && s.step === "Idle" && s.voters?.length === voters &&
        s.readyReplicas === voters && s.observedGeneration === body.metadata.generation;
      let ref: ClusterRef = { namespace, name: "demo", uid: "" };
      // Member pod URLs for the workload; refreshed in the background (pods come and go).
      let endpoints: string[] = [];
      let polling = true;
      // Configuration indexes seen, per node id and in the status: they may only grow (until the
      // ownership step recreates the cluster and its ids start over).
      let checkingIndexes = true;
      const confIndexes = new Map<number, number>();
      let statusConfIndex = 0;
      const regressions: string[] = [];
      // The admin calls every node recorded (GET /admin/calls), gathered all along: a node whose claim
      // is lost later takes its record with it.
      let adminToken: string | undefined;
      const adminCalls = new AdminCallCollector();
      const collectAdminCalls = async (nodes: { url: string }[]) => {
        if (!adminToken) return;
        await Promise.all(nodes.map(async ({ url }) => {
          const r = await fetch(`${adminUrlOf(url)}/admin/calls`, {
            headers: { authorization: `Bearer ${adminToken}` },
            signal: AbortSignal.timeout(2_000),
          }).catch(() => undefined);
          if (r?.ok) adminCalls.add(((await r.json()) as { calls: AdminCallRecord[] }).calls);
          else await r?.body?.cancel();
        }));
      };
      const poller = (async () => {
        while (polling) {
          const nodes = await nodesOf(api, ref).catch(() => []);
          const members = nodes.filter((n) => n.report.initialized).map((n) => n.url);
          if (members.length) endpoints = members;
          if (checkingIndexes) {
            for (const { report } of nodes) {
              if (report.id === undefined || !report.conf) continue;
              const seen = confIndexes.get(report.id) ?? 0;
              if (report.conf.index < seen) {
                regressions.push(`node ${report.id}: ${seen} -> ${report.conf.index}`);
              }
              confIndexes.set(report.id, Math.max(seen, report.conf.index));
            }
            const body = await api.getCluster(namespace, "demo").catch(() => undefined);
            const index = body ? status(body).configIndex ?? 0 : 0;
            if (index < statusConfIndex) {
              regressions.push(`status.configIndex ${statusConfIndex} -> ${index}`);
            }
            statusConfIndex = Math.max(statusConfIndex, index);
            await collectAdminCalls(nodes).catch(() => {});
          }
          await new Promise((r) => setTimeout(r, 300));
        }
      })();
      teardown.add("the status poller", async () => {
        polling = false;
        await poller;
      });
      teardown.add("the workload", async () => await workload?.stop().catch(() => {}));
      const timings: Record<string, string> = {};
      const timed = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
        const started = performance.now();
        const result = await work();
        timings[what] = `${((performance.now() - started) / 1000).toFixed(1)} s`;
        return result;
      };
      /**
       * One operator after the other, each exiting (as if SIGKILLed) right after persisting a decision
       * that passed through the next step; then a normal one. `start` triggers the change.
       */
      let generation = 0;
      const crashAtEachStep = async (steps: string[], start: () => Promise<unknown>) => {
        await operator.stop("SIGTERM");
        for (const [i, step] of steps.entries()) {
          const crashing = await startOperator(`${dir}/operator-crash-${step}-${++generation}.log`, [
            ...operatorArgs("operator-a"),
            `--crash-after-step=${step}`,
          ]);
          if (i === 0) await start();
          const exit = await crashing.exited(60_000);
          if (!exit) {
            await crashing.stop("SIGKILL");
            throw new Error(
              `the operator never reached step ${step}:\n${(await crashing.log()).slice(-3000)}`,
            );
          }
          assert.equal(exit.code, 137, `crashed after persisting ${step}`);
          assert.match(await crashing.log(), new RegExp(`--crash-after-step ${step}: exiting`));
        }
        operator = await startOperator(
          `${dir}/operator-a-${++generation}.log`,
          operatorArgs("operator-a"),
        );
      };
      const events = async (reason?: string) =>
        (await core.listNamespacedEvent({ namespace, fieldSelector: "involvedObject.name=demo" })).items
          .filter((e) => !reason || e.reason === reason);

      try {
        await step(
          "the seed YAML applies unchanged; Running with 3 ready pods; every field in effect",
          async () => {
            await installCrd(kube, namespace);
            const body = await timed("create 3 (seed)", async () => {
              await run(["apply", "-f", SEED]);
              return await until("Running with 3 voters", running(3));
            });
            ref = { namespace, name: "demo", uid: body.metadata.uid };
            adminToken = atob(
              await run(["get", "secret", "demo-tokens", "-o", "jsonpath={.data.admin-token}"]),
            );
            if (kube.nodeKind === "kubelet") {
              // Each pod has its own network namespace here: the server listens on 0.0.0.0, so
              // kubectl port-forward (which connects through the pod's localhost) reaches both APIs.
              const forward = await portForward(kube.kubectl, kube.kubeconfigPath, namespace, "demo-0", [
                8080,
                8081,
              ]);
              try {
                const [client, admin] = forward.local;
                const report = await (await fetch(`http://127.0.0.1:${client}/status`)).json() as {
                  id?: number;
                };
                assert.equal(typeof report.id, "number", "the client API through kubectl port-forward");
                const config = await fetch(`http://127.0.0.1:${admin}/admin/config`, {
                  headers: { authorization: `Bearer ${adminToken}` },
                });
                assert.equal(config.status, 200, "the admin API through kubectl port-forward");
                await config.body?.cancel();
                console.log(`kubectl port-forward pod/demo-0: node ${report.id} answered on both ports`);
              } finally {
                await forward.stop();
              }
            }
            const s = status(body);
            assert.deepEqual(s.voters, [1, 2, 3]);
            assert.equal(s.labelSelector, "app.kubernetes.io/name=raft-kv,app.kubernetes.io/instance=demo");
            const printed = await run(["get", "raft", "demo"]);
            assert.match(
              printed.split("\n")[0],
              /NAME\s+REPLICAS\s+READY\s+VOTERS\s+LEADER\s+PHASE\s+STEP\s+CONFINDEX\s+AGE/,
            );
            assert.match(
              printed.split("\n")[1],
              /^demo\s+3\s+3\s+\[1,2,3\]\s+demo-\d\s+Running\s+Idle\s+\d+/,
            );
            // Every field took effect: the pods' args, the claims, the labels, the owned objects.
            const pods = JSON.parse(await run(["get", "pods", "-l", "app=raft-kv", "-o", "json"]))
              .items as k8s.V1Pod[];
            assert.equal(pods.length, 3, "kubectl get pods -l app=raft-kv");
            const container = pods[0].spec!.containers[0];
            assert.equal(container.image, "localhost:5000/raft-kv:latest");
            assert.equal(container.imagePullPolicy, "IfNotPresent");
            assert.ok(container.args!.includes("--election-timeout-ms=300"), container.args!.join(" "));
            assert.ok(container.args!.includes("--snapshot-interval-ms=30000"));
            assert.equal(container.securityContext!.readOnlyRootFilesystem, true);
            const claim = JSON.parse(
              await run(["get", "pvc", "data-demo-0", "-o", "json"]),
            ) as k8s.V1PersistentVolumeClaim;
            assert.equal(claim.spec!.resources!.requests!.storage, "1Gi");
            const pdb = JSON.parse(
              await run(["get", "pdb", "demo", "-o", "json"]),
            ) as k8s.V1PodDisruptionBudget;
            assert.equal(pdb.spec!.minAvailable, 2, "a drain never takes a quorum of 3");
            await run(["get", "networkpolicy", "demo"]);
            // A maxParallel of 1 formed the cluster one member at a time: 0 -> 1 -> 2 -> 3.
            assert.deepEqual(s.history!.map((h) => [h.from, h.to]), [[0, 1], [1, 2], [2, 3]]);
          },
        );

        await step(
          "kubectl scale to 5: 3 -> 4, held by the rate limit (status says until when), then 4 -> 5 with the operator SIGKILLed midway",
          async () => {
            workload = new RecordedWorkload(recorder, {
              keys: 8,
              endpoints: () => endpoints,
              requestTimeoutMs: 2_000,
            });
            workload.start(3);
            // A window longer than this step can take even on a loaded machine (the seed's 1/min is
            // counted from the start of the change, which the crashes below stretch).
            await run([
              "patch",
              "raftcluster",
              "demo",
              "--type=merge",
              "-p",
              '{"spec":{"reconfig":{"rateLimit":"1/10m"}}}',
            ]);
            // 3 -> 4 with the operator crashing right after each workflow step it persists.
            await timed("3 -> 4 (operator crashed after each step)", () =>
              crashAtEachStep(
                ["AddLearners", "CatchUp", "EnterJoint", "CommitNew", "LeaveJoint"],
                () => run(["scale", "raftcluster", "demo", "--replicas=5"]),
              ));
            const held = await timed(
              "then held",
              async () =>
                await until(
                  "4 voters, the next change held back",
                  (s) => s.voters?.length === 4 && s.nextReconfigAt !== undefined && s.step === "Idle",
                ),
            );
            const s = status(held);
            assert.equal(s.replicas, 4);
            assert.ok(Date.parse(s.nextReconfigAt!) > Date.now(), `next change at ${s.nextReconfigAt}`);
            assert.equal(s.conditions!.find((c) => c.type === "Progressing")!.reason, "RateLimited");
            const last = s.history!.at(-1)!;
            assert.deepEqual([last.from, last.to, last.result], [3, 4, "Succeeded"]);
            assertInOrder(last.steps.map((x) => x.step), [
              "AddLearners",
              "CatchUp",
              "EnterJoint",
              "CommitNew",
              "LeaveJoint",
            ]);
            // Raising the limit lets the held change start at once (a spec change takes effect).
            await run([
              "patch",
              "raftcluster",
              "demo",
              "--type=merge",
              "-p",
              '{"spec":{"reconfig":{"rateLimit":"10/min"}}}',
            ]);
            const killedIn = await waitFor(
              "the change to 5 in flight",
              async () => {
                const step = status(await get()).reconfig?.step;
                return step && step !== "AddLearners" && step;
              },
              60_000,
              50,
            );
            assert.equal((await operator.stop("SIGKILL")).signal, "SIGKILL");
            const persisted = status(await get()).reconfig;
            assert.ok(persisted, `killed in ${killedIn}; the change in flight is persisted`);
            operator = await startOperator(
              `${dir}/operator-a-${++generation}.log`,
              operatorArgs("operator-a"),
            );
            await timed(
              "4 -> 5 (operator killed and restarted)",
              () => until("Running with 5 voters", running(5)),
            );
            console.log(`operator SIGKILLed at step ${killedIn}`);
            const done = status(await get());
            assert.deepEqual(done.voters, [1, 2, 3, 4, 5]);
            assert.deepEqual(done.history!.slice(-2).map((h) => [h.from, h.to]), [[3, 4], [4, 5]]);
          },
        );

        await step(
          "drift is repaired with no membership change: StatefulSet scaled to 1; Services, PDB, NetworkPolicy, Secret deleted",
          async () => {
            const before = status(await get());
            const secretBefore = await run(["get", "secret", "demo-tokens", "-o", "jsonpath={.data}"]);
            await run(["scale", "statefulset", "demo", "--replicas=1"]);
            await run(["delete", "service", "demo-peers", "--wait=false"]);
            await run(["delete", "service", "demo", "--wait=false"]);
            await run(["delete", "pdb", "demo", "--wait=false"]);
            await run(["delete", "networkpolicy", "demo", "--wait=false"]);
            await timed("drift repaired", async () => {
              await waitFor(
                "StatefulSet back at 5; Services, PDB and NetworkPolicy back",
                async () => {
                  const set = await api.readStatefulSet(namespace, "demo");
                  const ok = set?.spec?.replicas === 5 &&
                    await run(["get", "service", "demo-peers", "demo", "-o", "name"]).then(
                      (out) => out.trim().split("\n").length === 2,
                      () => false,
                    ) && await run(["get", "pdb", "demo", "-o", "name"]).then(() => true, () => false) &&
                    await run(["get", "networkpolicy", "demo", "-o", "name"]).then(() => true, () => false);
                  return ok;
                },
                60_000,
                250,
              );
              await until("Running with 5 voters again", running(5));
            });
            const after = status(await get());
            assert.deepEqual(after.voters, before.voters);
            assert.equal(after.history!.length, before.history!.length, "no membership change");
            assert.ok((await events("DriftRepaired")).length > 0, "a DriftRepaired Event");
            // The Secret alone (pods that start while it is gone wait for it: localkube's agent does not
            // retry that, a kubelet does), once the members run again.
            await run(["delete", "secret", "demo-tokens"]);
            await waitFor(
              "the Secret back",
              () => run(["get", "secret", "demo-tokens", "-o", "name"]).then(() => true, () => false),
              30_000,
              250,
            );
            assert.equal(
              await run(["get", "secret", "demo-tokens", "-o", "jsonpath={.data}"]),
              secretBefore,
              "the Secret comes back with the tokens the running nodes hold",
            );
            // snapshotInterval 30s: well over 30 s of writes since demo-0 started. The count-based policy
            // (every 10000 entries) explains at most applied / 10000 snapshots: any more came from the timer.
            const first = (await nodesOf(api, ref)).find((n) => n.slot === 0)!;
            const metrics = await (await fetch(`${first.url}/metrics`)).text();
            const taken = Number(/^raftkv_snapshots_taken_total (\d+)/m.exec(metrics)?.[1] ?? 0);
            const applied = first.report.applied ?? 0;
            assert.ok(
              taken >= 1 && taken > Math.floor(applied / 10_000),
              `timed snapshots: ${taken} taken at ${applied} applied entries`,
            );
          },
        );

        await step(
          "kubectl patch back to 3: 5 -> 4 -> 3, the leader on the leaving node, claims deleted",
          async () => {
            // Leadership on slot 4, which the first change removes: the change passes TransferLeader.
            const token = await run(["get", "secret", "demo-tokens", "-o", "jsonpath={.data.admin-token}"]);
            const leader = (await leaderOf(api, ref))!;
            const leaving = (await nodesOf(api, ref)).find((n) => n.slot === 4)!;
            const leaderAdmin = adminUrlOf(leader.url);
            await using admin = new AdminClient({
              endpoints: [leaderAdmin],
              token: atob(token),
              caller: { identity: "e2e-test", step: "move leadership to slot 4" },
            });
            if (leader.slot !== 4) await admin.transferLeader(leaving.report.id!, { node: leaderAdmin });
            await waitFor("slot 4 to lead", async () => (await leaderOf(api, ref))?.slot === 4, 10_000, 100);
            await timed(
              "5 -> 4 (crashes after TransferLeader, RemoveMembers)",
              () =>
                crashAtEachStep(
                  // The other steps were crashed through on the way up.
                  ["TransferLeader", "RemoveMembers"],
                  () =>
                    run(["patch", "raftcluster", "demo", "--type=merge", "-p", '{"spec":{"replicas":3}}']),
                ),
            );
            await timed("4 -> 3", () => until("Running with 3 voters", running(3)));
            const s = status(await get());
            assert.deepEqual(s.history!.slice(-2).map((h) => [h.from, h.to]), [[5, 4], [4, 3]]);
            assertInOrder(s.history!.at(-2)!.steps.map((x) => x.step), [
              "EnterJoint",
              "TransferLeader",
              "CommitNew",
              "LeaveJoint",
              "RemoveMembers",
            ]);
            assert.ok(
              ["demo-0", "demo-1", "demo-2", "demo-3"].includes(s.leader!),
              `leader ${s.leader} stays`,
            );
            await waitFor(
              "the removed members' claims to be gone",
              async () => {
                const claims = await api.listClaimNames(namespace, "app.kubernetes.io/instance=demo");
                return claims.sort().join() === "data-demo-0,data-demo-1,data-demo-2";
              },
              30_000,
              200,
            );
            const pdb = JSON.parse(
              await run(["get", "pdb", "demo", "-o", "json"]),
            ) as k8s.V1PodDisruptionBudget;
            assert.equal(pdb.spec!.minAvailable, 2);
          },
        );

        await step(
          "a new image rolls one member at a time, the leader last, never two down",
          async () => {
            const leaderBefore = (await leaderOf(api, ref))!;
            let minReady = 3;
            let watching = true;
            const watch = (async () => {
              while (watching) {
                const pods = await api.listPods(namespace, "app=raft-kv").catch(() => undefined);
                if (pods) minReady = Math.min(minReady, pods.filter((p) => p.ready && !p.terminating).length);
                await new Promise((r) => setTimeout(r, 100));
              }
            })();
            try {
              await run([
                "patch",
                "raftcluster",
                "demo",
                "--type=merge",
                "-p",
                '{"spec":{"image":"localhost:5000/raft-kv:v2"}}',
              ]);
              await timed("rolling upgrade of 3", async () => {
                await waitFor(
                  "every pod on the new image, Running",
                  async () => {
                    const pods = JSON.parse(await run(["get", "pods", "-l", "app=raft-kv", "-o", "json"]))
                      .items as k8s.V1Pod[];
                    const s = status(await get());
                    return pods.length === 3 &&
                      pods.every((p) =>
                        p.spec!.containers[0].image === "localhost:5000/raft-kv:v2" &&
                        !p.metadata!.deletionTimestamp
                      ) &&
                      running(3)(s, await get());
                  },
                  120_000,
                  500,
                );
              });
            } finally {
              watching = false;
              await watch;
            }
            assert.ok(minReady >= 2, `never two members down at once (ready pods went down to ${minReady})`);
            const log = await operator.log();
            const restarts = [...log.matchAll(/restarting (demo-\d)/g)].map((m) => m[1]);
            const unique = restarts.filter((p, i) => restarts.indexOf(p) === i);
            assert.equal(unique.length, 3, `each member restarted once: ${restarts}`);
            assert.equal(unique.at(-1), `demo-${leaderBefore.slot}`, "the old leader goes last");
            assert.match(log, /moving leadership from node \d to node \d before restarting it/);
          },
        );

        await step(
          "a pod deleted with its claim is replaced under a new id, under writes; the history is linearizable",
          async () => {
            const before = status(await get());
            const lostId = before.members!.find((m) => m.slot === 1)!.id;
            await run(["delete", "pvc", "data-demo-1", "--wait=false"]);
            await run(["delete", "pod", "demo-1", "--wait=false"]);
            await timed("lost claim replaced", async () => {
              await waitFor(
                "the replacement to start",
                async () => (await events("MemberStorageLost")).length > 0,
                60_000,
                250,
              );
              await until(
                "Running with 3 voters again, none of them the lost one",
                (s, body) =>
                  running(3)(s, body) && !s.voters!.includes(lostId) && !s.planner?.replacing?.length,
                120_000,
              );
            });
            const after = status(await get());
            const newId = after.members!.find((m) => m.slot === 1)!.id;
            assert.ok(
              newId >= before.planner!.nextNodeId,
              `slot 1 is node ${newId}, a new id (lost ${lostId})`,
            );
            assert.deepEqual(after.history!.slice(-2).map((h) => [h.from, h.to]), [[3, 2], [2, 3]]);
            assert.ok((await events("MemberReplaced")).length > 0, "a MemberReplaced Event");

            await workload!.stop();
            const parsed = parseJsonlHistory(recorder.toJsonl());
            const result = await checkHistory(parsed.history, {
              model: modelByName("kv"),
              timeoutMs: 60_000,
            });
            console.log(
              `history: ${recorder.size} operations, ${JSON.stringify(workload!.counts)}; ${
                verdictLine(result)
              }`,
            );
            await Deno.writeTextFile(`${dir}/history.jsonl`, recorder.toJsonl());
            assert.equal(result.verdict, "linearizable", verdictLine(result));
            assert.ok(workload!.counts.ok > 50, `only ${workload!.counts.ok} operations completed`);
          },
        );

        await step(
          "status wiped: rebuilt from the pods, never bootstrapped again; data and membership survive",
          async () => {
            const before = status(await get());
            const leader = (await leaderOf(api, ref))!;
            await using client = new KvClient({ endpoints: [leader.url] });
            await client.put("survivor", "still here", { node: leader.url });
            await kubectl(kube.kubectl, kube.kubeconfigPath, [
              "patch",
              "raftcluster",
              "demo",
              "-n",
              namespace,
              "--subresource=status",
              "--type=merge",
              "-p",
              '{"status":{"planner":null,"reconfig":null,"history":null,"voters":null,"formedAt":null,"phase":null}}',
            ]);
            await until("Running again after the status loss", running(3));
            const after = status(await get());
            assert.deepEqual(after.voters, before.voters);
            assert.ok(after.planner!.nextNodeId >= before.planner!.nextNodeId, "ids are never reused");
            assert.ok((await events("StatusRebuilt")).length > 0, "a StatusRebuilt Event");
            const now = (await leaderOf(api, ref))!;
            assert.equal((await client.get("survivor", { node: now.url })).value, "still here");
            for (const node of await nodesOf(api, ref)) assert.ok(before.voters!.includes(node.report.id!));
          },
        );

        await step(
          "fencing: the acting operator is SIGSTOPped mid-change; the standby finishes; the first issues nothing after SIGCONT",
          async () => {
            standby = await startOperator(`${dir}/operator-b.log`, operatorArgs("operator-b"));
            await run(["patch", "raftcluster", "demo", "--type=merge", "-p", '{"spec":{"replicas":4}}']);
            await waitFor(
              "the change to 4 in flight",
              async () => status(await get()).reconfig?.step === "CatchUp",
              60_000,
              50,
            );
            Deno.kill(operator.pid, "SIGSTOP");
            const frozenLog = (await operator.log()).length;
            try {
              await waitFor(
                "the standby to take over",
                async () => /leads \(Lease/.test(await standby!.log()),
                30_000,
                200,
              );
            } finally {
              Deno.kill(operator.pid, "SIGCONT");
            }
            await until("Running with 4 voters", running(4));
            await new Promise((r) => setTimeout(r, 3_000));
            const resumed = (await operator.log()).slice(frozenLog);
            assert.doesNotMatch(resumed, /action: /, `the resumed replica acted:\n${resumed}`);
            assert.match(resumed, /stops leading/);
            const s = status(await get());
            assert.deepEqual(s.history!.at(-1)!.to, 4);
            assert.deepEqual(s.voters!.length, 4);
            checkingIndexes = false;
            assert.deepEqual(
              regressions,
              [],
              "configuration indexes only grow, on every node and in the status",
            );
            assert.ok(
              statusConfIndex > 0 && confIndexes.size >= 5,
              `indexes watched: ${JSON.stringify([...confIndexes])}`,
            );
            // What the nodes recorded of every admin call since the cluster was created: no step acted on
            // by two replicas, nothing from operator-a once operator-b acted, and the configuration
            // changes one chain with no gap and no repeat, ending where the nodes are.
            await collectAdminCalls(await nodesOf(api, ref));
            const records = adminCalls.records;
            const audit = auditAdminCalls(records, { from: "operator-a", to: "operator-b" });
            console.log(
              `admin calls recorded: ${records.length} (${
                records.filter((r) => r.caller === "operator-b").length
              } by operator-b); configuration changes chained: ${
                audit.chain.map((c) => `${c.previousIndex}->${c.index}`).join(" ")
              }`,
            );
            assert.deepEqual(audit.problems, [], "the admin calls at the nodes");
            assert.ok(audit.chain.length >= 15, `${audit.chain.length} configuration changes recorded`);
            assert.ok(records.some((r) => r.caller === "operator-b"), "the standby's calls are recorded");
            assert.equal(
              audit.chain.at(-1)!.index,
              Math.max(...confIndexes.values()),
              "the last recorded change is the configuration the nodes are in",
            );
          },
        );

        await step(
          "ownership: recreated under the same name, the new RaftCluster adopts nothing of the old",
          async () => {
            const oldUid = ref.uid;
            // One pod of the old cluster outlives it (SIGSTOPped, it waits out its grace period), as a slow
            // one does on a busy node: the new cluster must start nothing meanwhile. A pod it started then
            // would get the old tokens from the kubelet's cache of the immutable Secret of the same name
            // and refuse every admin call of the new cluster (CI: "pod demo-0 becomes node 1" for 3 min).
            const held = "demo-2";
            const heldPids = podProcesses(namespace, held);
            assert.ok(heldPids.length > 0, `the processes of pod ${held}`);
            for (const pid of heldPids) Deno.kill(pid, "SIGSTOP");
            await run(["delete", "raftcluster", "demo", "--wait=true"]);
            await run(["apply", "-f", SEED]);
            const waiting = await waitFor(
              `the new demo to wait for ${held}`,
              async () =>
                (await events("WaitingForEarlierPods")).find((e) =>
                  e.involvedObject.uid !== oldUid && new RegExp(`\\b${held}\\b`).test(e.message ?? "")
                ),
              30_000,
              200,
            );
            assert.match(
              waiting.message!,
              /kubelet would hand a new pod its cached copy of the earlier Secret/,
            );
            // While a pod of the old cluster is listed, none of the new one is.
            await waitFor(
              `the pods of the old demo to be gone`,
              async () => {
                const pods = await api.listPods(namespace, "app.kubernetes.io/instance=demo");
                const newSet = (await api.readStatefulSet(namespace, "demo"))?.metadata?.uid;
                const old = pods.filter((p) => !newSet || p.controllerUid !== newSet).map((p) => p.name);
                const fresh = pods.filter((p) => newSet && p.controllerUid === newSet).map((p) => p.name);
                assert.ok(
                  !old.length || !fresh.length,
                  `pods of both clusters at once: old ${old}, new ${fresh}`,
                );
                return old.length === 0;
              },
              60_000,
              200,
            );
            const body = await until("the new demo Running with 3 voters", running(3), 180_000);
            assert.notEqual(body.metadata.uid, oldUid);
            for (
              const owned of [
                "statefulset/demo",
                "service/demo",
                "service/demo-peers",
                "pdb/demo",
                "networkpolicy/demo",
              ]
            ) {
              const owner = await run(["get", owned, "-o", "jsonpath={.metadata.ownerReferences[0].uid}"]);
              assert.equal(owner, body.metadata.uid, `${owned} belongs to the new RaftCluster`);
            }
            // A name that would collide with this cluster's peer Service is refused with a readable message.
            await assert.rejects(
              run(
                ["apply", "-f", "-"],
                "apiVersion: storage.sys/v1\nkind: RaftCluster\nmetadata: {name: demo-peers}\nspec: {replicas: 1}\n",
              ),
              /may not end in "-peers"/,
            );
            await assert.rejects(
              run(
                ["apply", "-f", "-"],
                'apiVersion: storage.sys/v1\nkind: RaftCluster\nmetadata: {name: bad}\nspec: {replicas: 1, snapshotInterval: "30"}\n',
              ),
              /spec.snapshotInterval must be a duration such as "30s"/,
            );
            // What only the operator can judge (2 ticks of 50 ms) sets a condition and phase Failed.
            await run(
              ["apply", "-f", "-"],
              "apiVersion: storage.sys/v1\nkind: RaftCluster\nmetadata: {name: strict}\nspec: {replicas: 1, electionTimeoutMs: 120}\n",
            );
            const failed = await waitFor(
              "strict to be Failed",
              async () => {
                const body = await api.getCluster(namespace, "strict");
                const s = status(body ?? ({} as KubeObject));
                return s.phase === "Failed" && s;
              },
              30_000,
              200,
            );
            const specValid = failed.conditions!.find((c) => c.type === "SpecValid")!;
            assert.equal(specValid.status, "False");
            assert.equal(specValid.reason, "InvalidSpec");
            assert.match(specValid.message, /spec\.electionTimeoutMs 120 is less than 3 ticks of 50 ms/);
            assert.equal(await run(["get", "statefulset", "strict", "--ignore-not-found", "-o", "name"]), "");
            await run(["delete", "raftcluster", "strict"]);
          },
        );
        console.log(`e2e timings ${JSON.stringify(timings)}`);
      } catch (error) {
        console.error(
          `--- operator log (tail) ---\n${(await operator.log()).split("\n").slice(-80).join("\n")}`,
        );
        if (standby) {
          console.error(
            `--- standby log (tail) ---\n${(await standby.log()).split("\n").slice(-40).join("\n")}`,
          );
        }
        // A failing step's warning is said once and may have scrolled out of the tails above.
        for (const [who, process] of [["operator", operator], ["standby", standby]] as const) {
          const warnings = (await process?.log() ?? "").split("\n").filter((l) => /\b(WARN|ERROR)\b/.test(l));
          if (warnings.length) {
            console.error(`--- ${who} warnings (last 40) ---\n${warnings.slice(-40).join("\n")}`);
          }
        }
        console.error(`--- cluster post-mortem ---\n${await clusterPostMortem(kube, ref)}`);
        throw error;
      }
    }, { seedImages: true });
  },
});

/** `expected` appears in `seen` in this order (other steps may come between). */
function assertInOrder(seen: string[], expected: string[]) {
  let at = 0;
  for (const step of seen) if (step === expected[at]) at++;
  assert.equal(
    at,
    expected.length,
    `steps ${seen.join(" -> ")} should pass through ${expected.join(" -> ")}`,
  );
}

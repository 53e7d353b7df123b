/**
 * End to end of the installation on localkube: `deno task deploy` applies the CRD and deploy/ (the
 * operator runs in the cluster as two pods of image raft-operator, under the RBAC of deploy/rbac.yaml)
 * and waits for the demo RaftCluster. Then the pod holding the Lease is deleted: the standby takes the
 * Lease over and handles a resize. Skipped with one loud line when localkube cannot run here.
 */
import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { findCondition, KubeConfigH1 } from "../framework/mod.ts";
import { waitFor } from "../framework/testing/wait.ts";
import { ClusterApi } from "./cluster_api.ts";
import { kubectl, stepper, withLocalKube } from "./e2e_support.ts";
import type { RaftClusterStatus } from "./types.ts";

const DEPLOY = new URL("../../../deploy/deploy.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

Deno.test({
  name: "e2e: deno task deploy installs the operator in the cluster and a Ready demo; the standby takes over",
  async fn(t) {
    await withLocalKube("raftcluster-deploy-e2e-", async ({ kube, teardown }) => {
      const kubeConfig = new KubeConfigH1();
      kubeConfig.loadFromFile(kube.kubeconfigPath);
      const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
      const coordination = kubeConfig.makeApiClient(k8s.CoordinationV1Api);
      const api = new ClusterApi(kubeConfig);
      const namespace = "raft-install";
      const leaseHolder = async () =>
        (await coordination.readNamespacedLease({ namespace, name: "raft-operator" })).spec?.holderIdentity;
      teardown.add("API connections", () => kubeConfig.closeConnections());
      const step = stepper(t);
      await step("deploy applies everything and waits for the demo to be Ready", async () => {
        const started = performance.now();
        const out = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "--allow-net",
            "--allow-read",
            "--allow-write",
            "--allow-env",
            "--allow-run",
            "--allow-sys",
            DEPLOY,
            "--kubeconfig",
            kube.kubeconfigPath,
            "--namespace",
            namespace,
            "--timeout",
            "150",
          ],
          env: { NO_COLOR: "1" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const stdout = decoder.decode(out.stdout);
        assert.equal(out.code, 0, `${stdout}\n${decoder.decode(out.stderr)}`);
        console.log(`deploy took ${((performance.now() - started) / 1000).toFixed(1)} s`);
        assert.match(stdout, /applied CustomResourceDefinition raftclusters\.storage\.sys/);
        assert.match(stdout, new RegExp(`applied Deployment raft-operator in namespace ${namespace}`));
        assert.match(
          stdout,
          new RegExp(`RaftCluster ${namespace}/demo is Ready: 3 voters, leader demo-\\d`),
        );
        assert.match(stdout, /deno task kv --endpoints http:\/\/127\.\d+\.\d+\.\d+:8080/);
      });

      await step("two operator pods run; one holds the Lease", async () => {
        const pods = await waitFor(
          "two running operator pods",
          async () => {
            const list = await core.listNamespacedPod({
              namespace,
              labelSelector: "app.kubernetes.io/name=raft-operator",
            });
            const running = list.items.filter((p) => p.status?.phase === "Running");
            return running.length === 2 && running.map((p) => p.metadata!.name!);
          },
          60_000,
          250,
        );
        assert.ok(pods.includes((await leaseHolder())!), `the Lease holder is one of ${pods}`);
      });

      await step(
        "the Lease holder's pod is deleted: the standby takes over and resizes the demo",
        async () => {
          const holder = (await leaseHolder())!;
          await core.deleteNamespacedPod({ namespace, name: holder });
          const successor = await waitFor(
            "another operator pod to hold the Lease",
            async () => {
              const now = await leaseHolder().catch(() => undefined);
              return now && now !== holder ? now : undefined; // "" while released
            },
            60_000,
            250,
          );
          await kubectl(kube.kubectl, kube.kubeconfigPath, [
            "patch",
            "raftcluster",
            "demo",
            "-n",
            namespace,
            "--type=merge",
            "-p",
            '{"spec":{"replicas":4}}',
          ]);
          await waitFor(
            "demo Ready with 4 voters",
            async () => {
              const body = await api.getCluster(namespace, "demo");
              const status = (body?.status ?? {}) as RaftClusterStatus;
              const ready = findCondition(status.conditions, "Ready");
              return ready?.status === "True" && ready.observedGeneration === body!.metadata.generation &&
                status.voters?.length === 4;
            },
            90_000,
            250,
          );
          console.log(`${successor} took over from ${holder}`);
        },
      );
    });
  },
});

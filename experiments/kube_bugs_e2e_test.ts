/**
 * End to end on localkube (its process agent unless LOCALKUBE_NODE says otherwise): `deno task
 * experiment bug2 --kube NAME` against a RaftCluster in unsafe-no-joint and one in safe, both from
 * deploy/examples/ with spec.faultInjection: true, run by the real operator. The unsafe one must
 * report the split brain in words, the safe one a linearizable history; both through the command a
 * user runs (a child process, exit code 0 = as the mode predicts). A RaftCluster in the wrong mode
 * is refused with exit code 3 before anything changes. Skipped with one loud line when localkube
 * cannot run here. Every process it starts is stopped by PID (withTeardown).
 */
import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { waitFor } from "../src/operator/framework/testing/wait.ts";
import { ClusterApi } from "../src/operator/raftcluster/cluster_api.ts";
import {
  installCrd,
  kubectl,
  OperatorProcess,
  stepper,
  withLocalKube,
} from "../src/operator/raftcluster/e2e_support.ts";
import type { RaftClusterStatus } from "../src/operator/raftcluster/types.ts";

const EXAMPLES = new URL("../deploy/examples/", import.meta.url).pathname;
const RUN = new URL("./run.ts", import.meta.url).pathname;
// One RaftCluster per run (a run leaves its cluster at 5 members), deleted once its run is judged.
const CLUSTERS = [
  { bug: "bug2", name: "kv-no-joint", file: "raftcluster-unsafe-no-joint.yaml", mode: "unsafe-no-joint" },
  { bug: "bug2", name: "kv-safe", file: "raftcluster-safe.yaml", mode: "safe" },
  {
    bug: "bug1",
    name: "kv-early-vote",
    file: "raftcluster-unsafe-early-vote.yaml",
    mode: "unsafe-early-vote",
  },
  { bug: "bug1", name: "kv-safe-b", file: "raftcluster-safe.yaml", mode: "safe" },
];

Deno.test({
  name:
    "e2e: experiment bug2|bug1 --kube through the operator: a violation in words in the unsafe mode, none in safe",
  async fn(t) {
    await withLocalKube("experiment-kube-e2e-", async ({ kube, kubeConfig, teardown, dir }) => {
      const api = new ClusterApi(kubeConfig);
      const namespace = "raft-experiments";
      const run = (args: string[], stdin?: string) =>
        kubectl(kube.kubectl, kube.kubeconfigPath, ["-n", namespace, ...args], stdin);
      const step = stepper(t);
      let operator: OperatorProcess | undefined;

      /** `deno task experiment ...` as a user runs it, stopped by PID at teardown if it hangs. */
      const experiment = async (args: string[]) => {
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", RUN, ...args],
          env: { KUBECONFIG: kube.kubeconfigPath, RAFTKV_RESULTS_DIR: dir, NO_COLOR: "1" },
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        teardown.add(`experiment (pid ${child.pid})`, async () => {
          try {
            child.kill("SIGKILL");
          } catch {
            // already exited
          }
          await child.status;
        }, { pid: child.pid });
        const out = await child.output();
        const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
        return { code: out.code, text };
      };

      try {
        await step("the operator runs both examples with spec.faultInjection: true", async () => {
          await installCrd(kube, namespace);
          const started = await OperatorProcess.start(`${dir}/operator.log`, [
            ...["--kubeconfig", kube.kubeconfigPath, "--namespace", namespace],
            ...["--lease-namespace", namespace, "--identity", "operator-x"],
          ]);
          operator = started;
          teardown.add(`operator (pid ${started.pid})`, () => started.terminate(), { pid: started.pid });
          for (const c of CLUSTERS) {
            const body = k8s.loadYaml(await Deno.readTextFile(`${EXAMPLES}${c.file}`)) as {
              metadata: { name: string };
              spec: Record<string, unknown> & { reconfig?: Record<string, unknown> };
            };
            body.metadata.name = c.name;
            body.spec.faultInjection = true;
            // The safe example paces changes at 1/min from the cluster's forming: not what is tested here.
            delete body.spec.reconfig?.rateLimit;
            await run(["apply", "-f", "-"], JSON.stringify(body));
          }
          await Promise.all(CLUSTERS.map((c) =>
            waitFor(
              `${c.name} Running with 3 voters`,
              async () => {
                const body = await api.getCluster(namespace, c.name);
                const s = (body?.status ?? {}) as RaftClusterStatus;
                return s.phase === "Running" && s.step === "Idle" && s.voters?.length === 3 &&
                  s.readyReplicas === 3 && s.faultInjection === true;
              },
              180_000,
              250,
            )
          ));
          const events = await run([
            "get",
            "events",
            "--field-selector",
            "reason=FaultInjection",
            "-o",
            "jsonpath={.items[*].message}",
          ]);
          assert.match(events, /--fault-injection \(experiments and tests only\)/);
        });

        await step("a RaftCluster in another bug's mode is refused (exit 3), nothing changes", async () => {
          const { code, text } = await experiment([
            "bug1",
            "--kube",
            "kv-no-joint",
            "--namespace",
            namespace,
          ]);
          assert.equal(code, 3, text);
          assert.match(
            text,
            /runs safetyMode unsafe-no-joint: bug1 runs on a RaftCluster in unsafe-early-vote/,
          );
          const body = await api.getCluster(namespace, "kv-no-joint");
          assert.equal((body?.spec as { replicas: number }).replicas, 3);
        });

        for (const c of CLUSTERS) {
          await step(`${c.bug} --kube ${c.name} (${c.mode})`, async () => {
            const started = performance.now();
            const { code, text } = await experiment([
              ...[c.bug, "--kube", c.name, "--namespace", namespace, "--seconds", "2"],
            ]);
            const seconds = ((performance.now() - started) / 1000).toFixed(1);
            console.log(`--- ${c.bug} --kube ${c.name} (${seconds} s) ---\n${text.trim()}`);
            assert.equal(code, 0, `the outcome is the one ${c.mode} predicts`);
            const results = JSON.parse(await Deno.readTextFile(`${dir}/experiment-${c.bug}-kube.json`)) as {
              outcomes: { mode: string; verdict: string; explanation?: string }[];
            };
            const [outcome] = results.outcomes;
            assert.equal(outcome.mode, c.mode);
            if (c.mode === "safe") {
              assert.equal(outcome.verdict, "linearizable");
            } else {
              assert.equal(outcome.verdict, "not linearizable");
              assert.match(outcome.explanation ?? "", c.bug === "bug2" ? /^Split brain: / : /^Stale read: /);
              assert.match(
                text,
                c.bug === "bug2"
                  ? /UNSAFE: the operator made .* adopt C_new/
                  : /UNSAFE: the operator made .* voters at once/,
              );
            }
            // Healed at the end: the operator finishes the change to 5.
            await waitFor(
              `${c.name} Running with 5 voters after the heal`,
              async () => {
                const s = ((await api.getCluster(namespace, c.name))?.status ?? {}) as RaftClusterStatus;
                return s.phase === "Running" && s.voters?.length === 5;
              },
              120_000,
              500,
            );
            await run(["delete", "raftcluster", c.name, "--wait=false"]);
          });
        }
      } catch (error) {
        if (operator) {
          console.error(
            `--- operator log (tail) ---\n${(await operator.log()).split("\n").slice(-60).join("\n")}`,
          );
        }
        throw error;
      }
    });
  },
});

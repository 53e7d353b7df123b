// End-to-end tests of the framework against a real kube-apiserver (localkube, or the cluster named
// by RAFTKV_E2E_KUBECONFIG). Skipped with one loud line when neither is available.
import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { KubeConfigH1 } from "./kube_config.ts";
import { KubeClient } from "./client/kube_client.ts";
import { apiStatusCode } from "./client/api_error.ts";
import { Operator } from "./operator.ts";
import { readLastHandled, readOperatorStatus } from "./actions/progress.ts";
import type { Condition } from "./structs/conditions.ts";
import { openE2eCluster } from "./testing/e2e_cluster.ts";
import { memoryLogger } from "./testing/memory_logger.ts";
import { type OperatorProcess, spawnOperator } from "./testing/operator_process.ts";
import { waitFor } from "./testing/wait.ts";
import { widgetCrd } from "./testdata/widget_crd.ts";
import {
  type JournalEntry,
  readJournal,
  WIDGET,
  WidgetHandlers,
  type WidgetSpec,
} from "./testdata/widget_handlers.ts";

const FINALIZER = "operator.raftkv.dev/finalizer";

async function installCrd(kubeConfig: KubeConfigH1) {
  const extensions = kubeConfig.makeApiClient(k8s.ApiextensionsV1Api);
  // Typed first: client-node drops the x-kubernetes-* keys of a raw object (see schema_test.ts).
  const crd = k8s.loadYaml(JSON.stringify(widgetCrd())) as k8s.V1CustomResourceDefinition;
  try {
    await extensions.createCustomResourceDefinition({ body: crd });
  } catch (error) {
    if (apiStatusCode(error) !== 409) throw error;
    const existing = await extensions.readCustomResourceDefinition({ name: crd.metadata!.name! });
    crd.metadata!.resourceVersion = existing.metadata?.resourceVersion;
    await extensions.replaceCustomResourceDefinition({ name: crd.metadata!.name!, body: crd });
  }
  await waitFor(
    "the CRD to be established",
    async () => {
      const current = await extensions.readCustomResourceDefinition({ name: crd.metadata!.name! });
      return current.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
    },
    30_000,
    200,
  );
}

Deno.test("e2e: the operator framework against a real kube-apiserver", async (t) => {
  const cluster = await openE2eCluster();
  if (typeof cluster === "string") {
    console.warn(`SKIPPED e2e: ${cluster}`);
    return;
  }
  console.log(`e2e cluster: ${cluster.origin}`);
  const dir = await Deno.makeTempDir({ prefix: "framework-e2e-" });
  const kubeConfig = new KubeConfigH1();
  kubeConfig.loadFromFile(cluster.kubeconfigPath);
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const objects = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  const client = new KubeClient(kubeConfig, "e2e-test");
  const namespace = `fw-e2e-${crypto.randomUUID().slice(0, 8)}`;
  const journal = `${dir}/journal.jsonl`;
  const processes: OperatorProcess[] = [];
  let operator: Operator | undefined;

  const get = (name: string) => client.get({ resource: WIDGET, namespace, name });
  const create = (name: string, spec: WidgetSpec) =>
    objects.createNamespacedCustomObject({
      ...WIDGET,
      namespace,
      body: { apiVersion: "example.raftkv.dev/v1", kind: "Widget", metadata: { name }, spec },
    });
  const handled = (name: string) =>
    waitFor(
      `${name} to be handled`,
      async () => {
        const body = await get(name);
        return body && readLastHandled(body) && body;
      },
      30_000,
      100,
    );
  const entries = async (name: string, handler?: string): Promise<JournalEntry[]> =>
    (await readJournal(journal)).filter((e) => e.name === name && (!handler || e.handler === handler));

  try {
    await installCrd(kubeConfig);
    await core.createNamespace({ body: { metadata: { name: namespace } } });

    await t.step("in-process operator", async (t) => {
      const logger = memoryLogger();
      operator = new Operator({
        kubeConfig,
        namespace,
        handlers: [new WidgetHandlers({ journal, identity: "in-process", interferer: client })],
        logger,
        settings: { retryBackoff: { initialMs: 200, maxMs: 2000 } },
      });
      await operator.start();

      await t.step("create: handlers run once; status, conditions, finalizer and an Event land", async () => {
        await create("w-create", { replicas: 1 });
        const body = await handled("w-create");
        assert.deepEqual(body.metadata.finalizers, [FINALIZER]);
        assert.equal(body.status?.phase, "Provisioned");
        assert.equal(body.status?.handledBy, "in-process");
        const ready = (body.status?.conditions as Condition[]).find((c) => c.type === "Ready");
        assert.equal(ready?.status, "True");
        assert.equal(ready?.observedGeneration, body.metadata.generation);
        assert.equal(readOperatorStatus(body).progress, undefined);
        for (const handler of ["prepare", "flaky", "provision-start", "provision-end"]) {
          assert.equal((await entries("w-create", handler)).length, 1, handler);
        }
        const events = await core.listNamespacedEvent({
          namespace,
          fieldSelector: "involvedObject.name=w-create",
        });
        assert.deepEqual(events.items.map((e) => e.reason), ["Provisioned"]);
      });

      await t.step("update of spec.replicas: the field handler gets old and new", async () => {
        await client.patch({ resource: WIDGET, namespace, name: "w-create" }, { spec: { replicas: 3 } });
        await waitFor("the scale", async () => (await get("w-create"))?.status?.replicasSeen, 30_000, 100);
        assert.deepEqual((await get("w-create"))?.status?.replicasSeen, { old: 1, new: 3 });
        await client.patch({ resource: WIDGET, namespace, name: "w-create" }, { spec: { image: "v2" } });
        await waitFor(
          "the image change handled",
          async () => {
            const lastHandled = readLastHandled((await get("w-create"))!) as { spec?: WidgetSpec };
            return lastHandled?.spec?.image === "v2";
          },
          30_000,
          100,
        );
        const scaled = await entries("w-create", "scaled");
        assert.deepEqual(scaled.map((e) => [e.old, e.new]), [[1, 3]], "another field does not fire it");
      });

      await t.step("a handler failing twice with TemporaryError, then succeeding", async () => {
        await create("w-flaky", { failTimes: 2 });
        const body = await handled("w-flaky");
        assert.deepEqual((await entries("w-flaky", "flaky")).map((e) => e.retry), [0, 1, 2]);
        assert.equal(body.status?.attempts, 3);
        assert.equal((await entries("w-flaky", "prepare")).length, 1, "the other handlers are not repeated");
      });

      await t.step("a 409 on the status write (a real concurrent writer) is absorbed", async () => {
        const conflicts = operator!.stats.conflicts;
        await create("w-conflict", { interfere: true });
        const body = await handled("w-conflict");
        assert.equal(body.status?.external, "kept", "the concurrent write survived");
        assert.equal(body.status?.phase, "Provisioned", "and so did ours");
        assert.ok(operator!.stats.conflicts > conflicts, "no 409 happened");
        assert.equal((await entries("w-conflict", "provision-start")).length, 1);
      });

      await t.step("delete: the handler runs, the finalizer goes, the object really goes away", async () => {
        await objects.deleteNamespacedCustomObject({ ...WIDGET, namespace, name: "w-create" });
        await waitFor(
          "w-create to disappear",
          async () => (await get("w-create")) === undefined,
          30_000,
          100,
        );
        assert.equal((await entries("w-create", "delete")).length, 1);
      });

      await operator.stop();
      operator = undefined;
      assert.equal(logger.lines.filter((l) => l.startsWith("ERROR")).length, 0, logger.lines.join("\n"));
    });

    await t.step("an operator killed mid-handler resumes without repeating finished handlers", async () => {
      const gate = `${dir}/gate`;
      const options = { kubeconfig: cluster.kubeconfigPath, namespace, journal, gate };
      const first = await spawnOperator(dir, { ...options, identity: "crashing" });
      processes.push(first);
      await create("w-kill", { waitForGate: true });
      await waitFor(
        "provision to start",
        async () => (await entries("w-kill", "provision-start")).length === 1,
        60_000,
      )
        .catch(async (e) => {
          throw new Error(`${e.message}\n${await first.tail()}`);
        });
      const midway = readOperatorStatus((await get("w-kill"))!).progress ?? {};
      assert.equal(midway["create/prepare"]?.success, true);
      assert.equal(midway["create/flaky"]?.success, true);
      assert.equal((await first.kill("SIGKILL")).signal, "SIGKILL");

      await Deno.writeTextFile(gate, "open");
      const second = await spawnOperator(dir, { ...options, identity: "restarted" });
      processes.push(second);
      await handled("w-kill").catch(async (e) => {
        throw new Error(`${e.message}\n${await second.tail()}`);
      });
      const calls = (handler: string) => entries("w-kill", handler).then((list) => list.map((e) => e.by));
      assert.deepEqual(await calls("prepare"), ["crashing"], "a finished handler ran again");
      assert.deepEqual(await calls("flaky"), ["crashing"]);
      assert.deepEqual(
        await calls("provision-start"),
        ["crashing", "restarted"],
        "the unfinished one was forgotten",
      );
      assert.deepEqual(await calls("provision-end"), ["restarted"]);
      assert.equal((await second.kill("SIGTERM")).code, 0);
    });

    await t.step(
      "two operators on one Lease: only the holder acts; the other takes over when it dies",
      async () => {
        const options = { kubeconfig: cluster.kubeconfigPath, namespace, journal, lease: "widget-operator" };
        const a = await spawnOperator(dir, { ...options, identity: "replica-a" });
        const b = await spawnOperator(dir, { ...options, identity: "replica-b" });
        processes.push(a, b);
        const coordination = kubeConfig.makeApiClient(k8s.CoordinationV1Api);
        const holderOf = async () => {
          try {
            return (await coordination.readNamespacedLease({ name: "widget-operator", namespace })).spec
              ?.holderIdentity;
          } catch {
            return undefined;
          }
        };
        const holder = await waitFor("a Lease holder", holderOf, 60_000, 200)
          .catch(async (e) => {
            throw new Error(`${e.message}\n${await a.tail()}\n${await b.tail()}`);
          });
        const [leader, standby] = holder === "replica-a" ? [a, b] : [b, a];

        await create("w-lease-1", {});
        await handled("w-lease-1");
        assert.deepEqual(
          (await entries("w-lease-1")).map((e) => e.by).filter((by) => by !== leader.identity),
          [],
        );

        assert.equal((await leader.kill("SIGKILL")).signal, "SIGKILL");
        const killedAt = Date.now();
        await create("w-lease-2", {});
        await handled("w-lease-2").catch(async (e) => {
          throw new Error(`${e.message}\n${await standby.tail()}`);
        });
        console.log(`takeover after SIGKILL of the leader: ${Date.now() - killedAt} ms (Lease of 4 s)`);
        assert.deepEqual([...new Set((await entries("w-lease-2")).map((e) => e.by))], [standby.identity]);
        assert.equal(await holderOf(), standby.identity);
        for (const name of ["w-lease-1", "w-lease-2"]) {
          assert.equal((await entries(name, "prepare")).length, 1, `${name} handled twice`);
        }
        assert.equal((await standby.kill("SIGTERM")).code, 0);
        assert.equal(await holderOf(), "", "a graceful stop releases the Lease");
      },
    );
  } finally {
    await operator?.stop();
    for (const process of processes) await process.kill("SIGKILL");
    // Clean an existing cluster; localkube is thrown away whole.
    await core.deleteNamespace({ name: namespace }).catch(() => {});
    await kubeConfig.closeConnections();
    await cluster.close();
    await Deno.remove(dir, { recursive: true });
  }
});

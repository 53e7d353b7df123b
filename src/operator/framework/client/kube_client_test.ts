import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { KubeClient, type WatchEvent } from "./kube_client.ts";
import { apiStatusCode } from "./api_error.ts";
import { WatchInactivityError } from "./watch_stream.ts";
import { FakeApiServer } from "../testing/fake_apiserver.ts";
import type { ResourceRef } from "../structs/objects.ts";

const widgets: ResourceRef = {
  group: "example.raftkv.dev",
  version: "v1",
  plural: "widgets",
  namespace: "default",
};
const address = (name: string) => ({ resource: widgets, namespace: "default", name });

/** Collects watch events until `count` arrived (or 5 s of silence), then aborts the watch. */
async function collect(client: KubeClient, from: string, count: number, onEvent = (_seen: number) => {}) {
  const events: WatchEvent[] = [];
  const abort = new AbortController();
  const end = await client.watch(
    widgets,
    from,
    { timeoutSeconds: 30, inactivityMs: 5000, signal: abort.signal },
    (e) => {
      events.push(e);
      onEvent(events.length);
      if (events.length >= count) abort.abort();
    },
  );
  return { events, end };
}

Deno.test("KubeClient against the fake API server", async (t) => {
  const fake = new FakeApiServer();
  const kubeConfig = fake.kubeConfig();
  const client = new KubeClient(kubeConfig);
  try {
    fake.create(widgets, { metadata: { name: "w1", namespace: "default" }, spec: { replicas: 1 } });

    await t.step("list returns items and the list's resourceVersion", async () => {
      const list = await client.list(widgets);
      assert.deepEqual(list.items.map((o) => o.metadata.name), ["w1"]);
      assert.equal(list.resourceVersion, list.items[0].metadata.resourceVersion);
    });

    await t.step("watch replays changes after a resourceVersion and sends bookmarks", async () => {
      const { resourceVersion } = await client.list(widgets);
      fake.patch(widgets, "default", "w1", { spec: { replicas: 2 } });
      fake.create(widgets, { metadata: { name: "w2", namespace: "default" } });
      const { events } = await collect(client, resourceVersion, 3, (seen) => seen === 2 && fake.bookmark());
      assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name ?? ""}`), [
        "MODIFIED w1",
        "ADDED w2",
        "BOOKMARK ",
      ]);
      assert.equal(events[0].object.spec?.replicas, 2);
    });

    await t.step("a silent watch ends with WatchInactivityError, an aborted one ends at once", async () => {
      const { resourceVersion } = await client.list(widgets);
      const abort = new AbortController();
      const options = { timeoutSeconds: 30, inactivityMs: 300, signal: abort.signal };
      const started = performance.now();
      const silent = await client.watch(widgets, resourceVersion, options, () => {});
      assert.ok(silent instanceof WatchInactivityError, `ended with ${silent}`);
      assert.ok(performance.now() - started < 5000);
      const aborted = client.watch(widgets, resourceVersion, { ...options, inactivityMs: 30_000 }, () => {});
      setTimeout(() => abort.abort(), 100);
      assert.ok(!((await aborted) instanceof WatchInactivityError));
      assert.ok(performance.now() - started < 10_000);
    });

    await t.step("a watch from a compacted resourceVersion gets an ERROR event with code 410", async () => {
      const { resourceVersion } = await client.list(widgets);
      fake.patch(widgets, "default", "w1", { spec: { replicas: 3 } });
      fake.compact();
      const { events } = await collect(client, resourceVersion, 1);
      assert.equal(events[0].type, "ERROR");
      assert.equal((events[0].object as unknown as { code: number }).code, 410);
    });

    await t.step("patch merges; status goes only through the status subresource", async () => {
      const patched = await client.patch(address("w1"), { spec: { image: "a" }, status: { ignored: true } });
      assert.deepEqual(patched.spec, { replicas: 3, image: "a" });
      assert.equal(patched.status, undefined);
      const generation = patched.metadata.generation;
      const statusPatched = await client.patchStatus(address("w1"), { status: { phase: "Ready" } });
      assert.deepEqual(statusPatched.status, { phase: "Ready" });
      assert.equal(statusPatched.metadata.generation, generation, "a status write does not bump generation");
    });

    await t.step("a stale resourceVersion precondition is answered with 409", async () => {
      const current = await client.get(address("w1"));
      assert.ok(current);
      fake.patchStatus(widgets, "default", "w1", { status: { other: "writer" } });
      const stale = { metadata: { resourceVersion: current.metadata.resourceVersion }, status: { mine: 1 } };
      await assert.rejects(client.patchStatus(address("w1"), stale), (e) => apiStatusCode(e) === 409);
      assert.equal(await client.get(address("missing")), undefined);
    });

    await t.step("a finalizer holds a deleted object until it is removed", () => {
      fake.patch(widgets, "default", "w2", { metadata: { finalizers: ["x/y"] } });
      fake.delete(widgets, "default", "w2");
      assert.ok(fake.get(widgets, "default", "w2")?.metadata.deletionTimestamp);
      fake.patch(widgets, "default", "w2", { metadata: { finalizers: null } });
      assert.equal(fake.get(widgets, "default", "w2"), undefined);
    });

    await t.step("Leases: create, replace with resourceVersion, 409 when stale", async () => {
      assert.equal(await client.readLease("default", "op"), undefined);
      const created = await client.createLease("default", {
        metadata: { name: "op", namespace: "default" },
        spec: { holderIdentity: "a", renewTime: new k8s.V1MicroTime(Date.now()) },
      });
      const renewed = await client.replaceLease("default", {
        ...created,
        spec: { ...created.spec, holderIdentity: "a" },
      });
      assert.notEqual(renewed.metadata?.resourceVersion, created.metadata?.resourceVersion);
      const renewTime = fake.get(
        { group: "coordination.k8s.io", version: "v1", plural: "leases" },
        "default",
        "op",
      )
        ?.spec?.renewTime as string;
      assert.match(renewTime, /\.\d{6}Z$/, "MicroTime is sent with microseconds");
      await assert.rejects(client.replaceLease("default", created), (e) => apiStatusCode(e) === 409);
    });

    await t.step("Events are created in the object's namespace", async () => {
      await client.createEvent("default", {
        metadata: { generateName: "w1." },
        involvedObject: { name: "w1", namespace: "default" },
        reason: "Tested",
        message: "hello",
        type: "Normal",
      });
      const events = fake.list({ group: "", version: "v1", plural: "events" }, "default");
      assert.deepEqual(events.map((e) => e.reason), ["Tested"]);
    });
  } finally {
    await kubeConfig.closeConnections();
    await fake.stop();
  }
});

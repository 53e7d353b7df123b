import assert from "node:assert/strict";
import { onCreate, onDelete, onResume, onUpdate, resource, timer } from "./intents/decorators.ts";
import type { HandlerContext } from "./intents/handler_context.ts";
import { readLastHandled, readOperatorStatus } from "./actions/progress.ts";
import { canonicalJson } from "./actions/progress.ts";
import { essenceOf } from "./structs/diffs.ts";
import type { Condition } from "./structs/conditions.ts";
import { EVENTS, WIDGETS } from "./testing/widgets.ts";
import { withFakeCluster } from "./testing/operator_fixture.ts";
import { delay, waitFor } from "./testing/wait.ts";

const FINALIZER = "operator.raftkv.dev/finalizer";

@resource({ ...WIDGETS, namespace: "default" })
class Recorder {
  calls: string[] = [];

  @onCreate()
  created(ctx: HandlerContext<{ replicas?: number }>) {
    this.calls.push(`create ${ctx.name}`);
    ctx.patch.status.phase = "Created";
    ctx.setCondition({ type: "Ready", status: "True", reason: "Created", message: "made" });
  }

  @onUpdate("spec.replicas")
  scaled(ctx: HandlerContext) {
    this.calls.push(`scale ${ctx.name} ${ctx.old}->${ctx.new} ${JSON.stringify(ctx.diff)}`);
    ctx.patch.status.replicas = ctx.new;
  }

  @onUpdate()
  updated(ctx: HandlerContext) {
    this.calls.push(`update ${ctx.name} ${ctx.diff.map((d) => `${d.op}:${d.path.join(".")}`).join(",")}`);
  }

  @onDelete()
  deleted(ctx: HandlerContext) {
    this.calls.push(`delete ${ctx.name}`);
    return ctx.postEvent("Normal", "Goodbye", `deleting ${ctx.name}`);
  }
}

Deno.test("operator lifecycle: create, field update with old/new, delete with finalizer", async (t) => {
  await withFakeCluster(async ({ fake, startOperator }) => {
    const recorder = new Recorder();
    const operator = await startOperator([recorder]);
    fake.create(WIDGETS, { metadata: { name: "w1", namespace: "default" }, spec: { replicas: 1 } });
    const get = () => fake.get(WIDGETS, "default", "w1")!;

    await t.step("create: the handler runs once, its patch lands, the finalizer is added", async () => {
      await waitFor("status.phase", () => get().status?.phase === "Created" && readLastHandled(get()));
      assert.deepEqual(recorder.calls, ["create w1"]);
      const body = get();
      assert.deepEqual(body.metadata.finalizers, [FINALIZER]);
      assert.deepEqual(readLastHandled(body), essenceOf(body));
      assert.equal(readOperatorStatus(body).progress, undefined, "progress is cleared when the cycle ends");
      const [ready] = body.status?.conditions as Condition[];
      assert.equal(ready.type, "Ready");
      assert.equal(ready.observedGeneration, 1);
      assert.match(ready.lastTransitionTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    });

    await t.step("own writes cause no further calls and no further writes", async () => {
      const patches = () => fake.countRequests("PATCH", /widgets/);
      const before = patches();
      await delay(400);
      assert.equal(patches(), before);
      assert.deepEqual(recorder.calls, ["create w1"]);
    });

    await t.step("a status write by someone else changes nothing", async () => {
      fake.patchStatus(WIDGETS, "default", "w1", { status: { note: "from a human" } });
      await delay(300);
      assert.deepEqual(recorder.calls, ["create w1"]);
    });

    await t.step("update of spec.replicas: the field handler sees old and new values", async () => {
      fake.patch(WIDGETS, "default", "w1", { spec: { replicas: 3 } });
      await waitFor("the update handlers", () => recorder.calls.length === 3);
      assert.deepEqual(recorder.calls.slice(1), [
        `scale w1 1->3 [{"op":"change","path":["spec","replicas"],"old":1,"new":3}]`,
        "update w1 change:spec.replicas",
      ]);
      await waitFor("status.replicas", () => get().status?.replicas === 3);
    });

    await t.step("update of another field: only the plain update handler runs", async () => {
      fake.patch(WIDGETS, "default", "w1", { spec: { image: "v2" }, metadata: { labels: { tier: "gold" } } });
      await waitFor("the update handler", () => recorder.calls.length === 4);
      assert.equal(recorder.calls[3], "update w1 add:metadata,add:spec.image");
      await delay(200);
      assert.equal(recorder.calls.length, 4);
    });

    await t.step("delete: the handler runs, then the finalizer goes and the object with it", async () => {
      fake.delete(WIDGETS, "default", "w1");
      await waitFor("the object to go away", () => fake.get(WIDGETS, "default", "w1") === undefined);
      assert.equal(recorder.calls.at(-1), "delete w1");
      const reasons = fake.list(EVENTS, "default").map((e) => e.reason);
      assert.deepEqual(reasons, ["Goodbye"]);
    });

    await operator.stop();
    assert.equal(operator.stats.conflicts, 0);
  });
});

@resource({ ...WIDGETS, namespace: "default" })
class Resumer {
  calls: string[] = [];
  @onCreate()
  created(ctx: HandlerContext) {
    this.calls.push(`create ${ctx.name}`);
  }
  @onResume()
  resumed(ctx: HandlerContext) {
    this.calls.push(`resume ${ctx.name}`);
  }
}

Deno.test("operator: resume handlers run for objects handled before, create for new ones", async () => {
  await withFakeCluster(async ({ fake, startOperator }) => {
    const old = fake.create(WIDGETS, {
      metadata: { name: "old", namespace: "default" },
      spec: { replicas: 1 },
    });
    fake.patchStatus(WIDGETS, "default", "old", {
      status: { operator: { lastHandled: canonicalJson(essenceOf(old)) } },
    });
    const resumer = new Resumer();
    const operator = await startOperator([resumer]);
    fake.create(WIDGETS, { metadata: { name: "new", namespace: "default" } });
    await waitFor("both objects handled", () => resumer.calls.length === 2);
    await delay(200);
    assert.deepEqual(resumer.calls.sort(), ["create new", "resume old"]);
    await operator.stop();

    const second = new Resumer();
    await startOperator([second]);
    await waitFor("resume after a restart", () => second.calls.length === 2);
    assert.deepEqual(second.calls.sort(), ["resume new", "resume old"]);
  });
});

@resource({ ...WIDGETS, namespace: "default" })
class Ticker {
  ticks = new Map<string, number>();
  @timer(80, { initialDelayMs: 10 })
  tick(ctx: HandlerContext) {
    const n = (this.ticks.get(ctx.name) ?? 0) + 1;
    this.ticks.set(ctx.name, n);
    ctx.patch.status.ticks = n;
  }
  @onDelete()
  deleted() {}
}

Deno.test("operator: timers tick per object and stop when it is deleted", async () => {
  await withFakeCluster(async ({ fake, startOperator }) => {
    const ticker = new Ticker();
    await startOperator([ticker]);
    fake.create(WIDGETS, { metadata: { name: "t1", namespace: "default" } });
    await waitFor("three ticks", () => (ticker.ticks.get("t1") ?? 0) >= 3);
    await waitFor(
      "ticks in status",
      () => ((fake.get(WIDGETS, "default", "t1")?.status?.ticks as number) ?? 0) >= 3,
    );
    fake.delete(WIDGETS, "default", "t1");
    await waitFor("deletion", () => fake.get(WIDGETS, "default", "t1") === undefined);
    const after = ticker.ticks.get("t1");
    await delay(300);
    assert.equal(ticker.ticks.get("t1"), after, "no tick after deletion");
  });
});

@resource({ ...WIDGETS, namespace: "default" })
class Defaulter {
  calls: string[] = [];
  @onCreate()
  defaults(ctx: HandlerContext<{ replicas?: number }>) {
    this.calls.push(`create ${ctx.name}`);
    if (ctx.spec.replicas === undefined) ctx.patch.spec.replicas = 3;
    ctx.patch.metadata.labels.managed = "yes";
  }
  @onUpdate()
  updated(ctx: HandlerContext) {
    this.calls.push(`update ${ctx.name}`);
  }
}

Deno.test("operator: a handler's patch of spec and labels lands and does not look like a user's update", async () => {
  await withFakeCluster(async ({ fake, startOperator }) => {
    const defaulter = new Defaulter();
    await startOperator([defaulter]);
    fake.create(WIDGETS, { metadata: { name: "d1", namespace: "default" }, spec: {} });
    await waitFor("handled", () => readLastHandled(fake.get(WIDGETS, "default", "d1")!));
    await delay(300);
    const body = fake.get(WIDGETS, "default", "d1")!;
    assert.equal(body.spec?.replicas, 3);
    assert.equal(body.metadata.labels?.managed, "yes");
    assert.deepEqual(
      readLastHandled(body),
      essenceOf(body),
      "the diff base includes the handler's own change",
    );
    assert.deepEqual(defaulter.calls, ["create d1"]);
  });
});

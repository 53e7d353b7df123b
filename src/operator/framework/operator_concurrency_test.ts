import assert from "node:assert/strict";
import { onCreate, onUpdate, resource } from "./intents/decorators.ts";
import type { HandlerContext } from "./intents/handler_context.ts";
import { readLastHandled, readOperatorStatus } from "./actions/progress.ts";
import type { Condition } from "./structs/conditions.ts";
import { WIDGETS } from "./testing/widgets.ts";
import { withFakeCluster } from "./testing/operator_fixture.ts";
import { delay, waitFor } from "./testing/wait.ts";

@resource({ ...WIDGETS, namespace: "default" })
class Slow {
  active = new Set<string>();
  maxActive = 0;
  overlaps = 0;

  async #work(ctx: HandlerContext) {
    if (this.active.has(ctx.uid)) this.overlaps++;
    this.active.add(ctx.uid);
    this.maxActive = Math.max(this.maxActive, this.active.size);
    await delay(40);
    this.active.delete(ctx.uid);
  }

  @onCreate()
  created(ctx: HandlerContext) {
    return this.#work(ctx);
  }

  @onUpdate()
  updated(ctx: HandlerContext) {
    return this.#work(ctx);
  }
}

Deno.test("one object at a time per object, up to `concurrency` objects at once", async () => {
  await withFakeCluster(async ({ fake, startOperator }) => {
    const slow = new Slow();
    const operator = await startOperator([slow], { concurrency: 2 });
    const names = ["a", "b", "c", "d", "e"];
    for (const name of names) {
      fake.create(WIDGETS, { metadata: { name, namespace: "default" }, spec: { n: 0 } });
    }
    for (let n = 1; n <= 4; n++) {
      await delay(25);
      for (const name of names) fake.patch(WIDGETS, "default", name, { spec: { n } });
    }
    await waitFor("every object handled at its last spec", () =>
      names.every((name) => {
        const lastHandled = readLastHandled(fake.get(WIDGETS, "default", name)!) as { spec?: { n?: number } };
        return lastHandled?.spec?.n === 4;
      }), 20_000);
    assert.equal(slow.overlaps, 0, "an object was handled twice at the same time");
    assert.equal(slow.maxActive, 2);
    assert.equal(operator.stats.maxConcurrentObjects, 2);
  });
});

@resource({ ...WIDGETS, namespace: "default" })
class Reporter {
  calls = 0;
  @onCreate()
  created(ctx: HandlerContext) {
    this.calls++;
    ctx.patch.status.phase = "Created";
    ctx.setCondition({ type: "Ready", status: "True", reason: "Created" });
  }
}

Deno.test("a 409 on a status write is absorbed: re-read, re-applied, nobody's write lost", async () => {
  await withFakeCluster(async ({ fake, startOperator }) => {
    let interfered = false;
    // A concurrent writer that slips in just before the operator's first status write.
    fake.beforeRequest = (request) => {
      if (interfered || request.method !== "PATCH" || !request.path.endsWith("/r1/status")) return;
      interfered = true;
      fake.patchStatus(WIDGETS, "default", "r1", {
        status: {
          external: "kept",
          conditions: [{
            type: "Available",
            status: "False",
            reason: "Probing",
            message: "",
            lastTransitionTime: "2026-01-01T00:00:00Z",
          }],
        },
      });
    };
    const reporter = new Reporter();
    const operator = await startOperator([reporter]);
    fake.create(WIDGETS, { metadata: { name: "r1", namespace: "default" } });
    await waitFor("handled", () => readLastHandled(fake.get(WIDGETS, "default", "r1")!));
    const status = fake.get(WIDGETS, "default", "r1")!.status!;
    assert.ok(interfered);
    assert.ok(operator.stats.conflicts >= 1);
    assert.equal(reporter.calls, 1, "a conflict does not call the handler again");
    assert.equal(status.phase, "Created");
    assert.equal(status.external, "kept");
    assert.deepEqual((status.conditions as Condition[]).map((c) => c.type), ["Available", "Ready"]);
    const statusWrites = fake.requests.filter((r) => r.method === "PATCH" && r.path.endsWith("/status"));
    assert.ok(
      statusWrites.every((r) =>
        (r.body as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion
      ),
    );
  });
});

@resource({ ...WIDGETS, namespace: "default" })
class TwoSteps {
  first = 0;
  second: number[] = [];
  constructor(private readonly hang: boolean) {}

  @onCreate()
  one() {
    this.first++;
  }

  @onCreate()
  async two(ctx: HandlerContext) {
    this.second.push(ctx.retry);
    if (!this.hang) return;
    await new Promise((_, reject) =>
      ctx.signal.addEventListener("abort", () => reject(new Error("stopped")))
    );
  }
}

Deno.test("a restarted operator neither repeats finished handlers nor forgets unfinished ones", async () => {
  await withFakeCluster(async ({ fake, startOperator }) => {
    const before = new TwoSteps(true);
    const first = await startOperator([before]);
    fake.create(WIDGETS, { metadata: { name: "s1", namespace: "default" } });
    await waitFor("the second handler running", () => before.second.length === 1);
    assert.equal(
      readOperatorStatus(fake.get(WIDGETS, "default", "s1")!).progress?.["create/one"]?.success,
      true,
    );
    await first.stop();

    const after = new TwoSteps(false);
    await startOperator([after]);
    await waitFor("the cycle to end", () => readLastHandled(fake.get(WIDGETS, "default", "s1")!));
    assert.equal(before.first + after.first, 1, "the finished handler ran once in all");
    assert.deepEqual(after.second, [1], "the unfinished one ran again, as its first retry");
  });
});

import assert from "node:assert/strict";
import { onCreate, resource } from "./intents/decorators.ts";
import { PermanentError, TemporaryError } from "./intents/errors.ts";
import type { HandlerContext } from "./intents/handler_context.ts";
import { readLastHandled, readOperatorStatus } from "./actions/progress.ts";
import { EVENTS, WIDGETS } from "./testing/widgets.ts";
import { withFakeCluster } from "./testing/operator_fixture.ts";
import { delay, waitFor } from "./testing/wait.ts";
import { isPlainObject } from "./structs/objects.ts";

@resource({ ...WIDGETS, namespace: "default" })
class Flaky {
  calls: Array<{ retry: number; started: number }> = [];
  @onCreate()
  create(ctx: HandlerContext) {
    this.calls.push({ retry: ctx.retry, started: ctx.started.getTime() });
    if (ctx.retry < 2) throw new TemporaryError(`not ready yet (${ctx.retry})`, 100);
    ctx.patch.status.result = "done";
  }
}

/** The progress records the operator wrote for a handler, in order, read from the fake's request log. */
function progressWrites(requests: { method: string; path: string; body?: unknown }[], handlerId: string) {
  return requests
    .filter((r) => r.method === "PATCH" && r.path.endsWith("/status"))
    .map((r) => {
      const progress = (r.body as { status?: { operator?: { progress?: Record<string, unknown> } } })
        .status?.operator?.progress;
      return isPlainObject(progress) ? progress[handlerId] : undefined;
    })
    .filter(isPlainObject);
}

Deno.test("TemporaryError: retried after its delay with retry info, progress persisted each time", async () => {
  await withFakeCluster(async ({ fake, startOperator }) => {
    const flaky = new Flaky();
    const operator = await startOperator([flaky]);
    fake.create(WIDGETS, { metadata: { name: "f1", namespace: "default" } });
    await waitFor("the cycle's end", () => readLastHandled(fake.get(WIDGETS, "default", "f1")!));
    assert.equal(fake.get(WIDGETS, "default", "f1")?.status?.result, "done");
    assert.deepEqual(flaky.calls.map((c) => c.retry), [0, 1, 2]);
    assert.equal(new Set(flaky.calls.map((c) => c.started)).size, 1, "`started` is the first call's time");
    assert.ok(flaky.calls[2].started <= flaky.calls[0].started + 5);
    const records = progressWrites(fake.requests, "create/create");
    assert.deepEqual(records.map((r) => [r.retries, r.success ?? null]), [[1, null], [2, null], [2, true]]);
    assert.equal(records[0].message, "not ready yet (0)");
    assert.ok(typeof records[0].delayedUntil === "string");
    const body = fake.get(WIDGETS, "default", "f1")!;
    assert.equal(readOperatorStatus(body).progress, undefined);
    assert.ok(readLastHandled(body));
    assert.equal(operator.stats.handlerRetries, 2);
  });
});

@resource({ ...WIDGETS, namespace: "default" })
class Broken {
  calls = 0;
  @onCreate()
  create(ctx: HandlerContext) {
    this.calls++;
    ctx.setCondition({ type: "Degraded", status: "True", reason: "InvalidSpec", message: "no image" });
    throw new PermanentError("spec.image is required");
  }
}

Deno.test("PermanentError: called once, failure in status and in a Warning Event, cycle ends", async () => {
  await withFakeCluster(async ({ fake, startOperator }) => {
    const broken = new Broken();
    const operator = await startOperator([broken]);
    fake.create(WIDGETS, { metadata: { name: "b1", namespace: "default" } });
    await waitFor("the failure recorded", () => {
      const body = fake.get(WIDGETS, "default", "b1");
      return body && readLastHandled(body) && readOperatorStatus(body).failures?.["create/create"];
    });
    await delay(300);
    assert.equal(broken.calls, 1);
    const body = fake.get(WIDGETS, "default", "b1")!;
    assert.equal(readOperatorStatus(body).failures?.["create/create"]?.message, "spec.image is required");
    assert.equal((body.status?.conditions as { type: string }[])[0].type, "Degraded");
    const warnings = fake.list(EVENTS, "default").filter((e) => e.type === "Warning");
    assert.deepEqual(warnings.map((e) => [e.reason, e.message]), [[
      "HandlerFailed",
      "create/create: spec.image is required",
    ]]);
    assert.equal(operator.stats.permanentFailures, 1);
  });
});

@resource({ ...WIDGETS, namespace: "default" })
class Crashing {
  calls = 0;
  @onCreate()
  create() {
    if (++this.calls <= 6) throw new RangeError(`boom ${this.calls}`);
  }
}

Deno.test("other errors: exponential backoff from initialMs, capped at maxMs", async () => {
  await withFakeCluster(async ({ fake, logger, startOperator }) => {
    const crashing = new Crashing();
    await startOperator([crashing], { settings: { retryBackoff: { initialMs: 40, maxMs: 300 } } });
    fake.create(WIDGETS, { metadata: { name: "c1", namespace: "default" } });
    await waitFor("success after 6 failures", () => {
      const body = fake.get(WIDGETS, "default", "c1");
      return body && readLastHandled(body);
    }, 15_000);
    assert.equal(crashing.calls, 7);
    // The delays the framework chose, from its log lines: "...; retry N in D ms".
    const delays = logger.lines.flatMap((line) => {
      const match = / RangeError: boom \d; retry (\d) in (\d+) ms$/.exec(line);
      return match ? [[Number(match[1]), Number(match[2])]] : [];
    });
    assert.equal(delays.length, 6);
    for (const [retry, chosen] of delays) {
      const expected = Math.min(300, 40 * 2 ** (retry - 1));
      assert.ok(
        chosen >= expected * 0.9 && chosen <= expected,
        `retry ${retry}: ${chosen} ms, expected ~${expected}`,
      );
    }
  });
});

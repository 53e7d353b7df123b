import assert from "node:assert/strict";
import { onCreate, onUpdate, resource } from "./intents/decorators.ts";
import type { HandlerContext } from "./intents/handler_context.ts";
import { readLastHandled } from "./actions/progress.ts";
import { WIDGETS } from "./testing/widgets.ts";
import { withFakeCluster } from "./testing/operator_fixture.ts";
import { delay, waitFor } from "./testing/wait.ts";

@resource({ ...WIDGETS, namespace: "default" })
class Steps {
  calls: string[] = [];
  @onCreate()
  first(ctx: HandlerContext) {
    this.calls.push(`first ${ctx.name}`);
    ctx.patch.status.first = true;
  }
  @onCreate()
  second(ctx: HandlerContext) {
    this.calls.push(`second ${ctx.name}`);
    ctx.patch.status.second = true;
  }
  @onUpdate()
  updated(ctx: HandlerContext) {
    this.calls.push(`update ${ctx.name}`);
  }
}

// The echoes of the operator's own writes arrive late, after processing is over: each one shows the
// object as it was before a later write. Reacting to them would run finished handlers again.
for (
  const { lagMs, why } of [
    { lagMs: 300, why: "events older than our last write are ignored until it comes back" },
    { lagMs: 1_500, why: "after the consistency timeout the object is read, and older echoes still ignored" },
  ]
) {
  Deno.test(`own writes echoed ${lagMs} ms late: ${why}`, async () => {
    await withFakeCluster(async ({ fake, startOperator }) => {
      fake.watchDelayMs = lagMs;
      const steps = new Steps();
      await startOperator([steps], { settings: { consistencyTimeoutMs: 1_000 } });
      fake.create(WIDGETS, { metadata: { name: "s1", namespace: "default" }, spec: { size: 1 } });
      await waitFor("the cycle's end", () => readLastHandled(fake.get(WIDGETS, "default", "s1")!));
      await delay(lagMs + 1_200); // every echo delivered, and a consistency timeout passed
      assert.deepEqual(steps.calls, ["first s1", "second s1"]);

      fake.patch(WIDGETS, "default", "s1", { spec: { size: 2 } });
      await waitFor("a real change still handled", () => steps.calls.length === 3, 10_000);
      await delay(lagMs + 1_200);
      assert.deepEqual(steps.calls, ["first s1", "second s1", "update s1"]);
    });
  });
}

import assert from "node:assert/strict";
import { onCreate, resource } from "./intents/decorators.ts";
import type { HandlerContext } from "./intents/handler_context.ts";
import { readLastHandled } from "./actions/progress.ts";
import { WIDGETS } from "./testing/widgets.ts";
import { withFakeCluster } from "./testing/operator_fixture.ts";
import { delay, waitFor } from "./testing/wait.ts";

@resource({ ...WIDGETS, namespace: "default" })
class Claimer {
  handled: string[] = [];
  constructor(readonly identity: string) {}
  @onCreate()
  created(ctx: HandlerContext) {
    this.handled.push(ctx.name);
    ctx.patch.status.handledBy = this.identity;
  }
}

const election = (identity: string) => ({
  leaderElection: {
    leaseName: "widgets-operator",
    namespace: "default",
    identity,
    leaseDurationMs: 1000,
    renewDeadlineMs: 700,
    retryPeriodMs: 100,
  },
});

Deno.test("two operators with a Lease: only the holder acts; the other takes over after stop", async () => {
  await withFakeCluster(async ({ fake, startOperator }) => {
    const a = new Claimer("a");
    const b = new Claimer("b");
    const opA = await startOperator([a], election("a"));
    await waitFor("a to act", () => opA.isActive);
    const opB = await startOperator([b], election("b"));
    for (const name of ["x1", "x2", "x3"]) fake.create(WIDGETS, { metadata: { name, namespace: "default" } });
    await waitFor(
      "all handled",
      () => ["x1", "x2", "x3"].every((n) => readLastHandled(fake.get(WIDGETS, "default", n)!)),
    );
    await delay(300);
    assert.deepEqual(a.handled.sort(), ["x1", "x2", "x3"]);
    assert.deepEqual(b.handled, []);
    assert.equal(opB.isActive, false);
    const lists = fake.requests.filter((r) => r.path.endsWith("/widgets") && r.query.get("watch") !== "true");
    assert.equal(lists.length, 1, "the standby does not even list");

    await opA.stop();
    await waitFor("b to act", () => opB.isActive, 5000);
    fake.create(WIDGETS, { metadata: { name: "y1", namespace: "default" } });
    await waitFor("y1 handled", () => readLastHandled(fake.get(WIDGETS, "default", "y1")!));
    assert.deepEqual(b.handled, ["y1"], "the new leader handles new objects and repeats nothing");
    assert.equal(fake.get(WIDGETS, "default", "y1")!.status?.handledBy, "b");
  });
});

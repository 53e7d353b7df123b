import assert from "node:assert/strict";
import { onCreate, resource } from "./intents/decorators.ts";
import type { HandlerContext } from "./intents/handler_context.ts";
import { readLastHandled } from "./actions/progress.ts";
import { WIDGETS } from "./testing/widgets.ts";
import { withFakeCluster } from "./testing/operator_fixture.ts";
import { delay, waitFor } from "./testing/wait.ts";
import { freePorts } from "../../local/ports.ts";

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
    // A renewal that takes longer than the renew deadline (counted from its start) makes the leader
    // step down, correctly; these are loose enough for a loaded test machine.
    leaseDurationMs: 3000,
    renewDeadlineMs: 2000,
    retryPeriodMs: 200,
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
    assert.equal(
      lists.length,
      1,
      `the standby does not even list: ${lists.map((r) => r.path + "?" + r.query).join(" ")}`,
    );

    await opA.stop();
    await waitFor("b to act", () => opB.isActive, 5000);
    fake.create(WIDGETS, { metadata: { name: "y1", namespace: "default" } });
    await waitFor("y1 handled", () => readLastHandled(fake.get(WIDGETS, "default", "y1")!));
    assert.deepEqual(b.handled, ["y1"], "the new leader handles new objects and repeats nothing");
    assert.equal(fake.get(WIDGETS, "default", "y1")!.status?.handledBy, "b");
  });
});

Deno.test("health probes: /healthz and /readyz answer for a leader and a standby; a stopped operator stops serving", async () => {
  await withFakeCluster(async ({ startOperator }) => {
    const [portA, portB] = freePorts(2);
    const opA = await startOperator([new Claimer("a")], {
      ...election("a"),
      health: { port: portA, hostname: "127.0.0.1" },
    });
    await waitFor("a to act", () => opA.isActive);
    const opB = await startOperator([new Claimer("b")], {
      ...election("b"),
      health: { port: portB, hostname: "127.0.0.1" },
    });
    await delay(300);
    const probe = async (port: number, path: string) => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: response.status, body: await response.json() };
    };
    const leader = await probe(portA, "/readyz");
    assert.equal(leader.status, 200);
    assert.equal(leader.body.leading, true);
    assert.equal((await probe(portA, "/healthz")).status, 200);
    const standby = await probe(portB, "/readyz");
    assert.equal(standby.status, 200, "a standby is ready: it is needed for a fast takeover");
    assert.equal(standby.body.leading, false);
    assert.equal((await probe(portB, "/nope")).status, 404);
    assert.equal(opA.health().live, true);
    await opA.stop();
    assert.equal(opA.health().live, false);
    await assert.rejects(fetch(`http://127.0.0.1:${portA}/healthz`));
    await opB.stop();
  });
});

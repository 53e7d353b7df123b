import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { type LeaderElectionOptions, LeaderElector } from "./leader_election.ts";
import { KubeClient } from "../client/kube_client.ts";
import { FakeApiServer } from "../testing/fake_apiserver.ts";
import { memoryLogger } from "../testing/memory_logger.ts";
import { delay, waitFor } from "../testing/wait.ts";
import { LEASES } from "../testing/widgets.ts";

const TIMINGS = { leaseDurationMs: 1000, renewDeadlineMs: 700, retryPeriodMs: 100 };

/** An elector that logs when it starts and stops leading, on a shared timeline. */
function candidate(
  client: KubeClient,
  identity: string,
  timeline: string[],
  options: Partial<LeaderElectionOptions> = {},
) {
  const elector = new LeaderElector(client, {
    leaseName: "op",
    namespace: "default",
    identity,
    ...TIMINGS,
    ...options,
  }, {
    onStartedLeading: () => void timeline.push(`+${identity}`),
    onStoppedLeading: () => void timeline.push(`-${identity}`),
  }, memoryLogger());
  elector.start();
  return elector;
}

/** Who leads according to the timeline: at most one, or the invariant is broken. */
function leaders(timeline: string[]): string[] {
  const leading = new Set<string>();
  for (const entry of timeline) {
    if (entry.startsWith("+")) leading.add(entry.slice(1));
    else leading.delete(entry.slice(1));
    assert.ok(leading.size <= 1, `two leaders at once: ${timeline.join(" ")}`);
  }
  return [...leading];
}

Deno.test("Lease election", async (t) => {
  const fake = new FakeApiServer();
  const kubeConfig = fake.kubeConfig();
  const client = new KubeClient(kubeConfig);
  const electors: LeaderElector[] = [];
  try {
    await t.step(
      "one of two candidates leads; it releases on stop and the other takes over at once",
      async () => {
        const timeline: string[] = [];
        const a = candidate(client, "a", timeline);
        electors.push(a);
        await waitFor("a to lead", () => a.isLeader);
        const b = candidate(client, "b", timeline);
        electors.push(b);
        await delay(600);
        assert.deepEqual(leaders(timeline), ["a"]);
        const lease = fake.get(LEASES, "default", "op")!;
        assert.equal((lease.spec as k8s.V1LeaseSpec).holderIdentity, "a");
        assert.equal((lease.spec as k8s.V1LeaseSpec).leaseDurationSeconds, 1);
        const stoppedAt = Date.now();
        await a.stop();
        const holder = (fake.get(LEASES, "default", "op")!.spec as k8s.V1LeaseSpec).holderIdentity;
        assert.ok(holder === "" || holder === "b", `holder after release: ${holder}`);
        await waitFor("b to lead", () => b.isLeader);
        assert.ok(Date.now() - stoppedAt < 900, "a released Lease is taken before it would have expired");
        assert.deepEqual(leaders(timeline), ["b"]);
        await b.stop();
        assert.equal((fake.get(LEASES, "default", "op")!.spec as k8s.V1LeaseSpec).holderIdentity, "");
      },
    );

    await t.step("a Lease held by a silent replica is taken only after it expires", async () => {
      const lease = fake.get(LEASES, "default", "op")!;
      fake.patch(LEASES, "default", "op", {
        spec: {
          ...lease.spec,
          holderIdentity: "ghost",
          leaseDurationSeconds: 1,
          renewTime: new k8s.V1MicroTime(),
        },
      });
      const timeline: string[] = [];
      const c = candidate(client, "c", timeline);
      electors.push(c);
      await delay(500);
      assert.equal(c.isLeader, false, "took a Lease that had not expired");
      await waitFor("c to lead after expiry", () => c.isLeader, 5000);
      const spec = fake.get(LEASES, "default", "op")!.spec as k8s.V1LeaseSpec;
      assert.equal(spec.holderIdentity, "c");
      assert.ok((spec.leaseTransitions ?? 0) >= 1);
    });

    await t.step("a leader that cannot renew stops acting before anyone else starts", async () => {
      const timeline: string[] = [];
      const leader = electors.at(-1)!;
      const d = candidate(client, "d", timeline);
      electors.push(d);
      timeline.push("+c"); // c leads (previous step)
      fake.failNext("PUT", /\/leases\/op$/, 500, 15); // about 1.5 s of failed renewals and takeovers
      await waitFor("c to step down", () => !leader.isLeader, 5000);
      timeline.push("-c");
      await leader.stop(); // as a process that lost its Lease would exit
      await waitFor("d to lead", () => d.isLeader, 10_000);
      assert.deepEqual(leaders(timeline), ["d"]);
      assert.ok(timeline.indexOf("-c") < timeline.indexOf("+d"));
    });
  } finally {
    for (const elector of electors) await elector.stop();
    await kubeConfig.closeConnections();
    await fake.stop();
  }
});

Deno.test("Lease election rejects timings that cannot be safe", () => {
  const client = {} as KubeClient;
  const callbacks = { onStartedLeading() {}, onStoppedLeading() {} };
  const options = { leaseName: "op", namespace: "default", identity: "a" };
  assert.throws(
    () =>
      new LeaderElector(
        client,
        { ...options, leaseDurationMs: 5000, renewDeadlineMs: 5000 },
        callbacks,
        memoryLogger(),
      ),
    /retryPeriod < renewDeadline < leaseDuration/,
  );
  assert.throws(
    () => new LeaderElector(client, { ...options, identity: "" }, callbacks, memoryLogger()),
    /identity/,
  );
});

Deno.test("a renewal that hangs does not keep a replica leading: it steps down at the renew deadline", async () => {
  // The API server answers the first read (no Lease) and the create, then never again (a stalled
  // connection): every later call hangs for good.
  let calls = 0;
  const never = new Promise<never>(() => {});
  const client = {
    readLease: () => calls++ === 0 ? Promise.resolve(undefined) : never,
    createLease: (_ns: string, lease: k8s.V1Lease) => Promise.resolve(lease),
    replaceLease: () => never,
  } as unknown as KubeClient;
  const timeline: string[] = [];
  const elector = new LeaderElector(client, {
    leaseName: "op",
    namespace: "default",
    identity: "a",
    ...TIMINGS,
  }, {
    onStartedLeading: () => void timeline.push("+a"),
    onStoppedLeading: () => void timeline.push("-a"),
  }, memoryLogger());
  elector.start();
  try {
    await waitFor("a to lead", () => elector.isLeader);
    const ledAt = Date.now();
    assert.equal(elector.holdsFreshLease(), true);
    await waitFor("a to step down", () => !elector.isLeader, 3000);
    const after = Date.now() - ledAt;
    assert.ok(after <= TIMINGS.renewDeadlineMs + 200, `stepped down ${after} ms after its last renewal`);
    assert.ok(after < TIMINGS.leaseDurationMs, "before the Lease could expire for anyone else");
    assert.equal(elector.holdsFreshLease(), false);
    assert.deepEqual(timeline, ["+a", "-a"]);
    const health = elector.health();
    assert.ok(health.answerAgeMs >= TIMINGS.renewDeadlineMs - 100, "no answer from the API server since");
  } finally {
    await elector.stop();
  }
});

Deno.test("holdsFreshLease reads the clock: false once the renew deadline passed, before any timer fires", async () => {
  const fake = new FakeApiServer();
  const kubeConfig = fake.kubeConfig();
  const client = new KubeClient(kubeConfig);
  const elector = candidate(client, "a", [], {
    leaseDurationMs: 3000,
    renewDeadlineMs: 2000,
    retryPeriodMs: 1000,
  });
  try {
    await waitFor("a to lead", () => elector.isLeader);
    assert.equal(elector.holdsFreshLease(), true);
    // Freeze the event loop past the renew deadline, as SIGSTOP would: no timer can run meanwhile.
    const until = Date.now() + 2100;
    while (Date.now() < until) { /* busy: the loop is stopped */ }
    assert.equal(elector.isLeader, true, "no timer has run yet");
    assert.equal(elector.holdsFreshLease(), false, "yet the check already says: do not act");
  } finally {
    await elector.stop();
    await kubeConfig.closeConnections();
    await fake.stop();
  }
});

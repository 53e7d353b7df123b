import assert from "node:assert/strict";
import type { Message } from "../raft/types.ts";
import { FaultInjector } from "./faults.ts";
import { connectAll, heartbeat, startNode, type TestNode, waitFor } from "./test_nodes.ts";

function contextsFrom(node: TestNode, from: number): string[] {
  return node.received.filter((m) => m.from === from).map((m) => m.context ?? "");
}

function snap(from: number, to: number): Message {
  return {
    type: "snap",
    from,
    to,
    term: 1,
    snapshot: {
      meta: {
        index: 1,
        term: 1,
        conf: { voters: [1, 2], votersOutgoing: [], learners: [], learnersNext: [] },
      },
      data: new Uint8Array(100),
    },
  };
}

Deno.test("fault controls throw a clear error unless fault injection is enabled", async () => {
  const a = await startNode(1);
  try {
    const faults = a.transport.faults;
    for (
      const control of [
        () => faults.partition([2]),
        () => faults.isolate(),
        () => faults.drop(2, 1),
        () => faults.delay(2, 10),
        () => faults.heal(),
      ]
    ) {
      assert.throws(
        control,
        /fault injection is disabled on this node: start it with faultInjection enabled/,
      );
    }
    assert.equal(faults.describe().enabled, false);
  } finally {
    await a.transport.close();
  }
});

Deno.test("fault injection between real transports", async (t) => {
  const a = await startNode(1, { faultInjection: true, faultSeed: 1 });
  const b = await startNode(2);
  try {
    connectAll([a, b]);

    await t.step("a partition told to one side only blocks both directions", async () => {
      a.transport.faults.partition([2]);
      a.transport.send([heartbeat(1, 2, 1, "a-cut")]);
      b.transport.send([heartbeat(2, 1, 1, "b-cut")]);
      // The B->A message is cut on arrival at A: wait until it got there before healing.
      await waitFor(
        () => a.transport.faults.describe().counters.blocked === 2,
        () => "both messages blocked",
      );
      a.transport.send([snap(1, 2)]);
      await waitFor(() => a.snapshotOutcomes.length === 1, () => "the snapshot outcome");
      assert.deepEqual(a.snapshotOutcomes, [[2, false]]);
      assert.deepEqual(a.transport.faults.describe().partitioned, [2]);
    });

    await t.step("heal restores both directions", async () => {
      a.transport.faults.heal();
      a.transport.send([heartbeat(1, 2, 1, "a-healed")]);
      b.transport.send([heartbeat(2, 1, 1, "b-healed")]);
      await waitFor(() => b.received.length === 1 && a.received.length === 1, () => "messages after heal");
      assert.deepEqual(contextsFrom(b, 1), ["a-healed"]);
      assert.deepEqual(contextsFrom(a, 2), ["b-healed"]);
    });

    await t.step("isolate cuts every peer", async () => {
      a.transport.faults.isolate();
      a.transport.send([heartbeat(1, 2, 1, "isolated")]);
      await waitFor(() => a.transport.faults.describe().counters.blocked === 4, () => "the blocked message");
      a.transport.faults.heal();
    });

    await t.step("drop with probability 1 drops everything, both ways", async () => {
      a.transport.faults.drop(2, 1);
      a.transport.send(Array.from({ length: 20 }, (_, i) => heartbeat(1, 2, 1, `drop${i}`)));
      b.transport.send(Array.from({ length: 20 }, (_, i) => heartbeat(2, 1, 1, `drop${i}`)));
      await waitFor(() => a.transport.faults.describe().counters.dropped === 40, () => "40 drops");
      a.transport.faults.drop(2, 0);
      a.transport.send([heartbeat(1, 2, 1, "after-drop")]);
      await waitFor(() => b.received.length === 2, () => "the message after the drop rule");
      assert.deepEqual(contextsFrom(b, 1), ["a-healed", "after-drop"]);
      assert.deepEqual(contextsFrom(a, 2), ["b-healed"]);
    });

    await t.step("delay holds messages in both directions for at least the delay", async () => {
      a.transport.faults.delay(2, 300, 50);
      const started = performance.now();
      a.transport.send([heartbeat(1, 2, 1, "delayed-out")]);
      b.transport.send([heartbeat(2, 1, 1, "delayed-in")]);
      let outArrived = 0, inArrived = 0;
      await waitFor(() => {
        if (!outArrived && b.received.some((m) => m.context === "delayed-out")) {
          outArrived = performance.now();
        }
        if (!inArrived && a.received.some((m) => m.context === "delayed-in")) inArrived = performance.now();
        return outArrived > 0 && inArrived > 0;
      }, () => "the delayed messages");
      assert.ok(outArrived - started >= 290, `outbound arrived after ${outArrived - started} ms`);
      assert.ok(inArrived - started >= 290, `inbound arrived after ${inArrived - started} ms`);
      assert.deepEqual(a.transport.faults.describe().delay, [{ peer: 2, ms: 300, jitterMs: 50 }]);
      a.transport.faults.heal();
    });
  } finally {
    await a.transport.close();
    await b.transport.close();
  }
});

Deno.test("fault decisions are deterministic for a seed, and arguments are checked", () => {
  const decisions = (seed: number) => {
    const faults = new FaultInjector(true, seed);
    faults.drop(2, 0.5);
    faults.delay(3, 10, 100);
    return Array.from({ length: 200 }, (_, i) => faults.judge(i % 2 === 0 ? 2 : 3));
  };
  assert.deepEqual(decisions(99), decisions(99));
  assert.notDeepEqual(decisions(99), decisions(100));
  const drops = decisions(99).filter((v) => v.drop).length;
  assert.ok(drops > 20 && drops < 80, `${drops} of 100 dropped at p=0.5`);

  const faults = new FaultInjector(true, 5);
  assert.throws(() => faults.drop(2, 1.5), /drop probability must be in \[0, 1\]/);
  assert.throws(() => faults.delay(2, -1), /delay needs finite ms >= 0/);
  assert.throws(() => faults.partition([0]), /peer id must be an integer >= 1/);
  assert.deepEqual(JSON.parse(JSON.stringify(faults.describe())), faults.describe());
});

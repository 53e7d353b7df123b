/**
 * When the node driver starts its Ready loop (kick): at once for a lone input, at the end of the
 * event-loop turn (the deferReady hook) once inputs come in bursts, so that a burst of proposals
 * leaves in one Ready instead of the first one alone and the rest one fdatasync later. One
 * bootstrapped node over the simulator's store; its writes and the "end of the turn" complete only
 * when the test says so.
 */
import assert from "node:assert/strict";
import { startLoneNode } from "./testdata/lone_node.ts";
import { quietHooks } from "./quiet_hooks.ts";
import { emptyDurable, SimStore } from "../sim/sim_store.ts";
import { encodeCommand } from "./commands.ts";

function harness() {
  const pendingWrites: Array<() => void> = [];
  let holdWrites = false;
  const store = new SimStore(emptyDurable(), {
    delay: () => holdWrites ? 1 : 0, // 0: completes at once, in the call
    after: (_ms, complete) => pendingWrites.push(complete),
    onPersist: () => {},
  });
  const readies: number[] = []; // entries per Ready taken (Readies with entries only)
  const endOfTurn: Array<() => void> = [];
  const hooks = {
    ...quietHooks((e) => assert.fail(e)),
    onReadyTaken: (rd: { entries: unknown[] }) => rd.entries.length && readies.push(rd.entries.length),
    deferReady: (run: () => void) => endOfTurn.push(run),
  };
  const d = startLoneNode(store, hooks, {}, () => {
    while (endOfTurn.length) endOfTurn.shift()!();
  });
  let n = 0;
  return {
    driver: d,
    readies,
    propose(count: number) {
      for (let i = 0; i < count; i++) {
        d.raft.propose([encodeCommand({ op: "put", key: `k${n++}`, value: "v" })]);
        d.kick();
      }
    },
    holdWrites(on: boolean) {
      holdWrites = on;
    },
    /** Completes the writes on disk now, and those the completions start. */
    completeWrites() {
      while (pendingWrites.length) pendingWrites.shift()!();
    },
    endTurn() {
      while (endOfTurn.length) endOfTurn.shift()!();
    },
    get deferred() {
      return endOfTurn.length;
    },
  };
}

Deno.test("a lone proposal is taken into a Ready at once, not at the end of the turn", () => {
  const h = harness();
  h.readies.length = 0;
  h.propose(1);
  assert.deepEqual(h.readies, [1], "taken synchronously");
  assert.equal(h.deferred, 0);
  h.propose(1);
  assert.deepEqual(h.readies, [1, 1], "still one at a time while inputs come one by one");
});

Deno.test("once proposals come in bursts, a turn's burst goes into one Ready", () => {
  const h = harness();
  h.readies.length = 0;
  // The first proposal of a burst is taken alone; the other five arrive while its write is on disk.
  h.holdWrites(true);
  h.propose(6);
  assert.deepEqual(h.readies, [1]);
  h.completeWrites(); // the five go out together next
  assert.deepEqual(h.readies, [1, 5]);
  h.completeWrites();
  // That Ready gathered several inputs: the next burst waits for the end of the turn, whole.
  h.propose(4);
  assert.deepEqual(h.readies, [1, 5], "nothing taken during the turn");
  assert.equal(h.deferred, 1, "one deferred start for the four inputs");
  h.endTurn();
  assert.deepEqual(h.readies, [1, 5, 4]);
  h.completeWrites();
  // A lone input after the burst still waits one turn (the last Ready gathered four), then the
  // loop is back to taking inputs at once.
  h.propose(1);
  h.endTurn();
  h.completeWrites();
  h.propose(1);
  assert.deepEqual(h.readies, [1, 5, 4, 1, 1]);
  assert.equal(h.deferred, 0);
  h.holdWrites(false);
});

Deno.test("a deferred Ready loop does not run after the node stopped", () => {
  const h = harness();
  h.holdWrites(true);
  h.propose(3);
  h.completeWrites();
  h.completeWrites();
  h.propose(2);
  assert.equal(h.deferred, 1);
  const before = h.readies.length;
  h.driver.halt();
  h.endTurn();
  assert.equal(h.readies.length, before);
  assert.equal(h.driver.busy, false);
});

import assert from "node:assert/strict";
import type { Message } from "../raft/mod.ts";
import { COMMIT_HOLD_MS, CommitHold } from "./commit_hold.ts";

const entry = (index: number) => ({ term: 2, index, type: "normal" as const, data: new Uint8Array([index]) });
const app = (to: number, commit: number, entries = 0): Message => ({
  type: "app",
  from: 1,
  to,
  term: 2,
  index: 10,
  logTerm: 2,
  commit,
  entries: Array.from({ length: entries }, (_, i) => entry(11 + i)),
});

/** A CommitHold whose timer is fired by hand; records what it sent and the delays it asked for. */
function harness() {
  const sent: Message[][] = [];
  const timers: Array<{ fn: () => void; ms: number }> = [];
  const hold = new CommitHold((fn, ms) => timers.push({ fn, ms }), (messages) => sent.push(messages));
  return { hold, sent, timers };
}

Deno.test("commit hold: entry-less appends wait, everything else leaves at once", () => {
  const { hold, sent, timers } = harness();
  const heartbeat: Message = { type: "heartbeat", from: 1, to: 2, term: 2, commit: 5 };
  const vote: Message = { type: "voteResp", from: 1, to: 3, term: 2 };
  const withEntries = app(2, 5, 2);
  assert.deepEqual(hold.filter([app(2, 5), heartbeat, withEntries, vote, app(3, 5)], true), [
    heartbeat,
    withEntries,
    vote,
  ]);
  // The entry-less append to 2 came before the one with entries (commit 5 >= 5): redundant, dropped.
  assert.equal(hold.size, 1, "only the append to node 3 is held");
  assert.equal(timers.length, 1);
  assert.equal(timers[0].ms, COMMIT_HOLD_MS);
  timers[0].fn();
  assert.deepEqual(sent, [[app(3, 5)]]);
  assert.equal(hold.size, 0);
});

Deno.test("commit hold: a later append with entries and the same or a newer commit replaces the held one", () => {
  const { hold, sent, timers } = harness();
  assert.deepEqual(hold.filter([app(2, 7), app(3, 7)], true), []);
  // To node 2: new entries carrying commit 7, so the held broadcast is redundant.
  assert.deepEqual(hold.filter([app(2, 7, 1)], true), [app(2, 7, 1)]);
  // To node 3: an append with entries but an older commit (cannot happen in order; kept to be safe).
  assert.deepEqual(hold.filter([app(3, 6, 1)], true), [app(3, 6, 1)]);
  assert.equal(timers.length, 1, "one timer for the whole hold");
  timers[0].fn();
  assert.deepEqual(sent, [[app(3, 7)]], "only the broadcast nothing superseded");
});

Deno.test("commit hold: the newest entry-less append to a follower is the one sent; clear drops them all", () => {
  const { hold, sent, timers } = harness();
  hold.filter([app(2, 7)], true);
  hold.filter([app(2, 8)], true);
  assert.equal(timers.length, 1);
  timers[0].fn();
  assert.deepEqual(sent, [[app(2, 8)]]);
  // A new hold after a flush sets a new timer; clear() (the node stopped) drops what is held.
  hold.filter([app(3, 9)], true);
  assert.equal(timers.length, 2);
  hold.clear();
  timers[1].fn();
  assert.equal(sent.length, 1, "nothing sent after clear");
});

Deno.test("commit hold: with other writes in flight nothing is held, and a newer broadcast replaces a held one", () => {
  const { hold, sent, timers } = harness();
  assert.deepEqual(hold.filter([app(2, 7)], true), []);
  // Not holding now: the entry-less append leaves at once and makes the held older one redundant.
  assert.deepEqual(hold.filter([app(2, 8), app(3, 8)], false), [app(2, 8), app(3, 8)]);
  assert.equal(hold.size, 0);
  timers[0].fn();
  assert.deepEqual(sent, [], "the superseded broadcast is never sent");
});

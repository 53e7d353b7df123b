/**
 * Feeds random and malformed messages to step() and checks that nothing throws past the API
 * and that the node's own invariants always hold: the term never decreases, at most one vote
 * per term, commit never decreases and never passes the log's end, applied <= commit, indexes
 * stay consecutive, and a committed entry never changes.
 */
import assert from "node:assert/strict";
import { bootstrapSnapshot, RaftNode } from "./node.ts";
import type { Entry, Message } from "./types.ts";
import { MESSAGE_TYPES } from "./message_check.ts";
import { Rng } from "../sim/rng.ts";

const TYPES = [...MESSAGE_TYPES];

function garbage(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * 9);
  switch (k) {
    case 0:
      return null;
    case 1:
      return Math.floor(r() * 2 ** 40) * (r() < 0.5 ? -1 : 1);
    case 2:
      return r() < 0.5 ? NaN : Infinity;
    case 3:
      return "x".repeat(Math.floor(r() * 10));
    case 4:
      return new Uint8Array(Math.floor(r() * 8));
    case 5:
      return depth > 2 ? [] : Array.from({ length: Math.floor(r() * 4) }, () => garbage(r, depth + 1));
    case 6:
      return r() < 0.5;
    case 7:
      return undefined;
    default: {
      if (depth > 2) return {};
      const o: Record<string, unknown> = {};
      for (
        const key of [
          "type",
          "from",
          "to",
          "term",
          "index",
          "logTerm",
          "commit",
          "entries",
          "snapshot",
          "reject",
        ]
      ) {
        if (r() < 0.5) o[key] = garbage(r, depth + 1);
      }
      return o;
    }
  }
}

/** A message that passes the shape checks, with values near the node's current state. */
function plausible(r: () => number, node: RaftNode): Message {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const near = (x: number) => Math.max(0, x + Math.floor(r() * 7) - 3);
  const type = pick(TYPES);
  const index = near(node.lastIndex);
  const logTerm = near(node.term);
  const m: Message = { type, from: pick([2, 3, 4, 9]), to: 1, term: near(node.term) };
  if (type === "app") {
    const entries: Entry[] = [];
    let term = logTerm;
    for (let i = 0; i < Math.floor(r() * 4); i++) {
      term += r() < 0.3 ? 1 : 0;
      entries.push({ index: index + 1 + i, term, type: "normal", data: new Uint8Array([i]) });
    }
    Object.assign(m, { index, logTerm, commit: near(node.commitIndex), entries });
  } else if (type === "vote" || type === "preVote") {
    Object.assign(m, { index, logTerm, transfer: r() < 0.2 || undefined });
  } else if (type === "appResp") {
    Object.assign(m, { index, reject: r() < 0.3, rejectHint: near(index), logTerm });
  } else if (type === "snap") {
    const snap = bootstrapSnapshot([1, 2, 3]);
    snap.meta.index = near(node.commitIndex + 2);
    snap.meta.term = logTerm;
    m.snapshot = snap;
  } else if (type === "readIndex" || type === "readIndexResp") {
    Object.assign(m, { context: `c${Math.floor(r() * 5)}`, index });
  } else if (type === "transferLeader") {
    m.index = pick([1, 2, 3]);
  } else if (type === "heartbeat") {
    m.commit = near(node.commitIndex);
  } else if (r() < 0.5) {
    m.reject = r() < 0.5;
  }
  return m;
}

Deno.test("step() survives random, malformed and adversarial messages", () => {
  const rolesSeen = new Set<string>();
  let maxCommit = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const seeded = new Rng(seed);
    const r = () => seeded.next();
    const node = new RaftNode(
      { id: 1, random: r, electionTick: 10, heartbeatTick: 1 },
      { hardState: { term: 1, vote: 0, commit: 1 }, snapshot: bootstrapSnapshot([1, 2, 3]), entries: [] },
    );
    let lastTerm = 0, lastCommit = 0;
    const votes = new Map<number, number>();
    const committedTerms = new Map<number, number>();
    for (let i = 0; i < 1500; i++) {
      const choice = r();
      if (choice < 0.25) node.step(garbage(r));
      else if (choice < 0.9) node.step(plausible(r, node));
      else if (choice < 0.95) node.tick();
      else if (choice < 0.97) { for (let t = 0; t < 25; t++) node.tick(); // long enough to time out
       } else {
        try {
          node.propose([new Uint8Array([i & 255])]);
        } catch { /* not the leader: fine */ }
      }
      while (node.hasReady()) {
        const rd = node.ready();
        if (rd.snapshot) node.applySnapshot(rd.snapshot);
        for (const e of rd.committedEntries) if (e.type === "conf") node.applyConfChange(e);
        node.advance(rd);
      }

      const s = node.status();
      assert.ok(s.term >= lastTerm, `seed ${seed}: term went back from ${lastTerm} to ${s.term}`);
      if (s.vote) {
        const earlier = votes.get(s.term);
        assert.ok(earlier === undefined || earlier === s.vote, `seed ${seed}: two votes in term ${s.term}`);
        votes.set(s.term, s.vote);
      }
      assert.ok(s.commit >= lastCommit, `seed ${seed}: commit went back`);
      assert.ok(s.commit <= s.lastIndex, `seed ${seed}: commit ${s.commit} past last index ${s.lastIndex}`);
      assert.ok(s.applied <= s.commit && s.snapshotIndex <= s.applied, `seed ${seed}: applied out of range`);
      const entries = node.entries(s.snapshotIndex + 1, s.lastIndex + 1);
      assert.equal(entries.length, s.lastIndex - s.snapshotIndex, `seed ${seed}: log has holes`);
      entries.forEach((e, k) => assert.equal(e.index, s.snapshotIndex + 1 + k));
      for (let idx = lastCommit + 1; idx <= s.commit; idx++) {
        const t = node.termAt(idx);
        if (t !== undefined) committedTerms.set(idx, t);
      }
      for (const [idx, t] of committedTerms) {
        const now = node.termAt(idx);
        if (now !== undefined) assert.equal(now, t, `seed ${seed}: committed entry ${idx} changed term`);
      }
      lastTerm = s.term;
      lastCommit = s.commit;
      rolesSeen.add(s.role);
      maxCommit = Math.max(maxCommit, s.commit);
    }
    assert.ok(node.droppedMessages > 0, "garbage must have been counted as dropped");
  }
  // The fuzzer must reach the interesting states, or it proves nothing.
  assert.deepEqual([...rolesSeen].sort(), ["candidate", "follower", "leader", "preCandidate"]);
  assert.ok(maxCommit > 5, `commit never advanced far (max ${maxCommit})`);
});

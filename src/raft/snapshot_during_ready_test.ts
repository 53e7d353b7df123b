/**
 * Regression tests for races between the shell's outstanding Ready and messages stepped while it
 * is being persisted (issue 8, bug 1), and for step() never throwing (bug 7).
 */
import assert from "node:assert/strict";
import { bootstrapSnapshot, RaftNode } from "./node.ts";
import type { ConfChange, Entry, Ready, Snapshot } from "./types.ts";

const addLearner4: ConfChange = { ops: [{ op: "addLearner", node: 4 }], joint: false };

/** Applies a Ready the way a shell must: snapshot first, then each configuration entry, in order. */
function applyAndAdvance(node: RaftNode, rd: Ready): void {
  if (rd.snapshot) node.applySnapshot(rd.snapshot);
  for (const e of rd.committedEntries) if (e.type === "conf") node.applyConfChange(e);
  node.advance(rd);
}

/** Follower 3 of voters {1,2,3} whose committed log ends with "addLearner 4" at index 8. */
function followerWithCommittedAddLearner(): RaftNode {
  const entries: Entry[] = [];
  for (let i = 2; i <= 7; i++) entries.push({ index: i, term: 2, type: "normal" });
  entries.push({ index: 8, term: 2, type: "conf", change: addLearner4 });
  return new RaftNode({ id: 3, random: () => 0.5 }, {
    hardState: { term: 2, vote: 1, commit: 8 },
    snapshot: bootstrapSnapshot([1, 2, 3]),
    entries,
  });
}

Deno.test("a snapshot stepped while a Ready with older configuration entries is outstanding wins", () => {
  const node = followerWithCommittedAddLearner();
  const rd = node.ready();
  assert.ok(rd.committedEntries.some((e) => e.type === "conf"), "the Ready hands out addLearner 4");
  // While the shell persists that Ready, the leader's snapshot at 10 arrives: 4 was promoted
  // (voters {1,2,3,4}) and the log compacted meanwhile.
  const snapshot: Snapshot = {
    meta: {
      index: 10,
      term: 2,
      conf: { voters: [1, 2, 3, 4], votersOutgoing: [], learners: [], learnersNext: [] },
    },
    data: new Uint8Array(),
  };
  node.step({ type: "snap", from: 1, to: 3, term: 2, snapshot });
  applyAndAdvance(node, rd);
  while (node.hasReady()) applyAndAdvance(node, node.ready());
  assert.equal(node.appliedIndex, 10);
  assert.deepEqual(node.confState().voters, [1, 2, 3, 4]);
  assert.deepEqual(node.confState().learners, [], "addLearner 4 was applied again on top of the snapshot");
  assert.equal(node.confIndex, 10);
});

Deno.test("a configuration entry at or below the configuration in force changes nothing", () => {
  const node = followerWithCommittedAddLearner();
  const rd = node.ready();
  const conf = rd.committedEntries.find((e) => e.type === "conf")!;
  const first = node.applyConfChange(conf);
  assert.equal(first.applied, true);
  assert.throws(() => node.applyConfChange(conf), /already applied/);
  node.advance(rd);
  assert.deepEqual(node.confState().learners, [4]);
});

Deno.test("advance() refuses a Ready whose configuration entries were not applied explicitly", () => {
  const node = followerWithCommittedAddLearner();
  const rd = node.ready();
  assert.throws(() => node.advance(rd), /was not applied \(call applyConfChange\)/);
});

Deno.test("step() does not throw when a peer asks to transfer leadership to a non-voter", () => {
  const node = new RaftNode({ id: 1, random: () => 0.5 }, {
    hardState: { term: 1, vote: 0, commit: 1 },
    snapshot: {
      meta: {
        index: 1,
        term: 1,
        conf: { voters: [1, 2, 3], votersOutgoing: [], learners: [4], learnersNext: [] },
      },
      data: new Uint8Array(),
    },
    entries: [],
  });
  node.campaign();
  for (const from of [2, 3]) node.step({ type: "voteResp", from, to: 1, term: 2 });
  assert.equal(node.role, "leader");
  assert.doesNotThrow(() => node.step({ type: "transferLeader", from: 2, to: 1, term: 2, index: 4 }));
  assert.doesNotThrow(() => node.step({ type: "transferLeader", from: 2, to: 1, term: 2, index: 99 }));
  assert.equal(node.role, "leader");
  assert.equal(node.status().leadTransferee, 0);
});

/**
 * ReadIndex traffic leaves before the Ready's fdatasync (canSendBeforePersist), as in etcd's raft:
 * a linearizable read must not wait for the disk writes of unrelated entries in the same Ready,
 * while append acknowledgements still wait for them (a follower persists before acking).
 */
import assert from "node:assert/strict";
import { bootstrapSnapshot, canSendBeforePersist, RaftNode } from "./node.ts";
import type { Message, Ready } from "./types.ts";

const types = (ms: Message[]) => ms.map((m) => m.type).sort();

function split(rd: Ready): { early: Message[]; late: Message[] } {
  return {
    early: rd.messages.filter(canSendBeforePersist),
    late: rd.messages.filter((m) => !canSendBeforePersist(m)),
  };
}

function drain(node: RaftNode): void {
  while (node.hasReady()) node.advance(node.ready());
}

Deno.test("a follower answers a read heartbeat before persisting the entries of the same Ready, not its append ack", () => {
  const follower = new RaftNode({ id: 3, random: () => 0.5 }, {
    hardState: { term: 2, vote: 1, commit: 1 },
    snapshot: bootstrapSnapshot([1, 2, 3]),
    entries: [],
  });
  follower.step({
    type: "app",
    from: 1,
    to: 3,
    term: 2,
    index: 1,
    logTerm: 1,
    commit: 1,
    entries: [{ index: 2, term: 2, type: "normal", data: new Uint8Array([1]) }],
  });
  follower.step({ type: "heartbeat", from: 1, to: 3, term: 2, commit: 1, context: "read-1" });
  const rd = follower.ready();
  assert.equal(rd.entries.length, 1, "the new entry is still to be persisted");
  const { early, late } = split(rd);
  assert.deepEqual(types(early), ["heartbeatResp"]);
  assert.equal(early[0].context, "read-1");
  assert.deepEqual(types(late), ["appResp"], "the append ack waits for the fdatasync");
});

Deno.test("a leader answers a forwarded read, and a follower forwards one, before persisting new entries", () => {
  const leader = new RaftNode({ id: 1, random: () => 0.5 }, {
    hardState: { term: 1, vote: 0, commit: 1 },
    snapshot: bootstrapSnapshot([1, 2, 3]),
    entries: [],
  });
  leader.campaign();
  drain(leader);
  for (const from of [2, 3]) leader.step({ type: "voteResp", from, to: 1, term: 2 });
  assert.equal(leader.role, "leader");
  drain(leader); // the term's no-op at index 2, persisted
  leader.step({ type: "appResp", from: 2, to: 1, term: 2, index: 2 });
  drain(leader);
  assert.equal(leader.commitIndex, 2, "the no-op is committed: reads may be served in this term");

  leader.propose([new Uint8Array([7])]); // index 3: in the next Ready, to be persisted
  leader.step({ type: "readIndex", from: 2, to: 1, term: 2, context: "from-2" });
  leader.step({ type: "heartbeatResp", from: 3, to: 1, term: 2, context: "from-2" });
  const rd = leader.ready();
  assert.equal(rd.entries.length, 1);
  const { early, late } = split(rd);
  const answer = early.find((m) => m.type === "readIndexResp");
  assert.ok(answer, `the read index answer goes out before the fdatasync: ${JSON.stringify(rd.messages)}`);
  assert.equal(answer.to, 2);
  assert.equal(answer.index, 2);
  assert.deepEqual(late, []);

  const follower = new RaftNode({ id: 2, random: () => 0.5 }, {
    hardState: { term: 2, vote: 1, commit: 1 },
    snapshot: bootstrapSnapshot([1, 2, 3]),
    entries: [],
  });
  follower.step({
    type: "app",
    from: 1,
    to: 2,
    term: 2,
    index: 1,
    logTerm: 1,
    commit: 1,
    entries: [{ index: 2, term: 2, type: "normal" }],
  });
  follower.readIndex("mine");
  const frd = follower.ready();
  assert.equal(frd.entries.length, 1);
  assert.deepEqual(types(split(frd).early), ["readIndex"]);
  assert.deepEqual(types(split(frd).late), ["appResp"]);
});

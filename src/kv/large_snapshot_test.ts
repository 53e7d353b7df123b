/**
 * Issue 17: a snapshot of a large state does not stop the world. In-process nodes on loopback
 * (one event loop for all of them, so a blocked loop shows as one long stall, measured by the
 * stall monitor rather than by an election the shared stall would suppress): a leader with ~60 MB
 * of state takes a snapshot while writes continue; the loop is never blocked for as long as an
 * election timeout, no election happens, writes complete meanwhile; then a new learner that
 * needs the snapshot (the log behind it is compacted) receives it in chunks into a file (one chunk
 * in memory at a time) and catches up.
 */
import assert from "node:assert/strict";
import { RaftKvNode, type RaftKvNodeOptions } from "./raft_kv_node.ts";
import { encodeMembersContext } from "./members.ts";
import { freePort } from "../local/ports.ts";
import { EventLoopStallMonitor } from "../server/event_loop_stalls.ts";

const TICK_MS = 25;
const ELECTION_TICKS = 10;
/** The shortest election timeout: a loop blocked this long would let a follower campaign. */
const ELECTION_TIMEOUT_MS = TICK_MS * ELECTION_TICKS;
const KEYS = 15_000;
const VALUE_BYTES = 4_000;

function options(id: number, dataDir: string, bootstrap: boolean): RaftKvNodeOptions {
  const peer = freePort();
  return {
    nodeId: id,
    clusterId: "large-snapshot-test",
    dataDir,
    peerToken: "t",
    listenPeer: { hostname: "127.0.0.1", port: peer },
    self: { peer: `127.0.0.1:${peer}`, client: `http://127.0.0.1:${freePort()}` },
    bootstrap,
    tickMs: TICK_MS,
    electionTicks: ELECTION_TICKS,
    // Only the forced snapshot below; the leader keeps no log behind it.
    snapshotEntries: 10_000_000,
    retainEntries: 0,
  };
}

async function until(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function join(
  leader: RaftKvNode,
  o: RaftKvNodeOptions,
  node: RaftKvNode,
  voter: boolean,
): Promise<void> {
  const context = encodeMembersContext({ [o.nodeId]: { ...o.self, incarnation: node.incarnation } });
  await leader.changeMembership({ ops: [{ op: "addLearner", node: o.nodeId }], joint: false, context });
  if (voter) {
    await until(`node ${o.nodeId} may vote`, () => !node.isQuarantined);
    await leader.changeMembership({ ops: [{ op: "addVoter", node: o.nodeId }], joint: false, context });
  }
}

Deno.test({
  name: "a large snapshot is taken without stalling heartbeats, and a follower catches up from it in chunks",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "large-snapshot-" });
    const nodes: RaftKvNode[] = [];
    const monitor = new EventLoopStallMonitor(5, 0);
    try {
      const o1 = options(1, `${root}/n1`, true), o2 = options(2, `${root}/n2`, false);
      const leader = await RaftKvNode.start(o1);
      nodes.push(leader);
      await until("node 1 leads", () => leader.isLeader && leader.appliedIndex >= 2);
      const follower = await RaftKvNode.start(o2);
      nodes.push(follower);
      await join(leader, o2, follower, true);

      // ~60 MB of state, 64 writers.
      const filler = "v".repeat(VALUE_BYTES);
      let next = 0;
      const writer = async (stopAt: () => boolean) => {
        while (!stopAt()) {
          const i = next++;
          await leader.write({
            op: "put",
            key: `key-${i % KEYS}`,
            value: `${i}:${filler}`.slice(0, VALUE_BYTES),
          });
        }
      };
      await Promise.all(Array.from({ length: 64 }, () => writer(() => next >= KEYS)));
      assert.equal(leader.keyCount, KEYS);
      const term = leader.status().term;
      const changes = { leader: leader.metrics.leaderChanges, follower: follower.metrics.leaderChanges };

      // The snapshot, with writes going on.
      monitor.start();
      let stop = false;
      const before = next;
      const background = Promise.all(Array.from({ length: 8 }, () => writer(() => stop)));
      const snapshotIndex = await leader.snapshotNow();
      const writtenDuring = next - before;
      stop = true;
      await background;
      monitor.stop();
      const stalls = monitor.read();
      const taken = leader.metrics.snapshotsTaken;
      assert.ok(taken >= 1, "no snapshot was taken");
      // The image went to the snapshot file as it was encoded; the core keeps only its metadata.
      assert.equal(leader.snapshotImageBytesHeld, 0);
      assert.ok(leader.lastSnapshot!.bytes > 50_000_000, `snapshot of ${leader.lastSnapshot?.bytes} bytes`);
      assert.ok(
        stalls.maxSeconds * 1000 < ELECTION_TIMEOUT_MS,
        `the event loop was blocked for ${(stalls.maxSeconds * 1000).toFixed(0)} ms during the snapshot ` +
          `(election timeout ${ELECTION_TIMEOUT_MS} ms)`,
      );
      assert.ok(writtenDuring > 0, "no write completed while the snapshot was taken");
      assert.equal(leader.status().term, term, "an election happened during the snapshot");
      assert.equal(leader.metrics.leaderChanges, changes.leader);
      assert.equal(follower.metrics.leaderChanges, changes.follower);
      assert.ok(leader.isLeader);
      console.log(
        `snapshot at ${snapshotIndex}: longest stall ${(stalls.maxSeconds * 1000).toFixed(0)} ms, ` +
          `${writtenDuring} writes completed meanwhile, load average ${Deno.loadavg()[0].toFixed(1)}`,
      );

      // A new member needs the snapshot: the leader kept no entries behind it.
      const o3 = options(3, `${root}/n3`, false);
      const learner = await RaftKvNode.start(o3);
      nodes.push(learner);
      const chunksBefore = leader.transportStats().totals.snapshotChunksSent;
      await join(leader, o3, learner, false);
      await until(
        "node 3 catches up",
        () => learner.appliedIndex >= leader.commitIndex && learner.keyCount === leader.keyCount,
      );
      assert.ok(learner.status().snapshotIndex >= snapshotIndex, "node 3 caught up without the snapshot");
      const chunks = leader.transportStats().totals.snapshotChunksSent - chunksBefore;
      assert.ok(chunks > 1, `the snapshot went in ${chunks} chunk(s)`);
      // Sent from the leader's file, received into a staged file a chunk at a time (never whole in
      // the learner's memory), decoded from that file piece by piece, installed, and not kept.
      const received = learner.transportStats().totals;
      assert.ok(
        received.snapshotChunksReceived > 1,
        `received in ${received.snapshotChunksReceived} chunk(s)`,
      );
      assert.ok(
        received.snapshotMaxBytesHeld <= 512 * 1024,
        `the learner held ${received.snapshotMaxBytesHeld} bytes of the image at once`,
      );
      assert.equal(learner.snapshotImageBytesHeld, 0);
      assert.deepEqual([...Deno.readDirSync(`${o3.dataDir}/snapshot-incoming`)], [], "staged image removed");
      assert.equal(learner.read("key-7", true), leader.read("key-7", true));
      assert.equal(leader.status().term, term, "an election happened while node 3 caught up");
    } finally {
      monitor.stop();
      for (const n of nodes.reverse()) await n.stop();
      await Deno.remove(root, { recursive: true });
    }
  },
});

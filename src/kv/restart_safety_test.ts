/**
 * Safety across restarts and lost disks, on the real driver, file store and transport (issue 8,
 * bugs 2-4 and 6): freshness and quarantine are decided atomically, the incarnation belongs to the
 * Raft storage (not to identity.json), a snapshot that covers a learner's own add-learner entry
 * lifts its quarantine, and read contexts never repeat across restarts. In-process nodes on
 * loopback; every node is stopped.
 */
import assert from "node:assert/strict";
import { RaftKvNode, type RaftKvNodeOptions } from "./raft_kv_node.ts";
import { encodeMembersContext } from "./members.ts";
import { RaftStorage } from "../storage/raft_storage.ts";
import { freePort } from "../local/ports.ts";

const TICK = { tickMs: 10, electionTicks: 10 };

function options(id: number, dataDir: string, bootstrap: boolean, extra: Partial<RaftKvNodeOptions> = {}) {
  const peer = freePort();
  return {
    nodeId: id,
    clusterId: "quarantine-test",
    dataDir,
    peerToken: "t",
    listenPeer: { hostname: "127.0.0.1", port: peer },
    self: { peer: `127.0.0.1:${peer}`, client: `http://127.0.0.1:${freePort()}` },
    bootstrap,
    ...TICK,
    ...extra,
  } as RaftKvNodeOptions;
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function addLearner(
  leader: RaftKvNode,
  learner: RaftKvNodeOptions,
  incarnation: string,
): Promise<number> {
  await until("node 1 leads and committed in its term", () => leader.isLeader && leader.appliedIndex >= 2);
  return await leader.changeMembership({
    ops: [{ op: "addLearner", node: learner.nodeId }],
    joint: false,
    context: encodeMembersContext({ [learner.nodeId]: { ...learner.self, incarnation } }),
  });
}

Deno.test("a raft directory whose creation was interrupted starts quarantined (bug 2)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "quarantine-" });
  try {
    // What an older version left after a crash between creating the WAL and writing the marker.
    const { storage } = await RaftStorage.open(`${dir}/raft`, { log: () => {} });
    await storage.close();
    const node = await RaftKvNode.start(options(2, dir, false));
    try {
      assert.equal(node.isQuarantined, true, "a node with no data and no marker may vote");
    } finally {
      await node.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lost Raft storage is a new incarnation even if identity.json survives (bug 3)", async () => {
  const root = await Deno.makeTempDir({ prefix: "quarantine-" });
  const o1 = options(1, `${root}/n1`, true);
  let leader = await RaftKvNode.start(o1);
  const o2 = options(
    2,
    `${root}/n2`,
    false,
    { incarnation: "identity-incarnation" } as Partial<RaftKvNodeOptions>,
  );
  let learner = await RaftKvNode.start(o2);
  try {
    const added = await addLearner(leader, o2, learner.incarnation);
    await until(
      "node 2 applies its learner stage",
      () => learner.appliedIndex >= added && !learner.isQuarantined,
    );
    await learner.stop();
    // The disk under the Raft data is lost; identity.json (here: the same options) survives.
    await Deno.remove(`${root}/n2/raft`, { recursive: true });
    learner = await RaftKvNode.start(o2);
    assert.equal(learner.isQuarantined, true);
    // A new leader term: progress is reset, so the leader probes node 2 from scratch and replays
    // the whole log to it, including the old incarnation's add-learner entry.
    await leader.stop();
    leader = await RaftKvNode.start(o1);
    await until("node 1 leads again", () => leader.isLeader && leader.appliedIndex > added);
    await leader.write({ op: "put", key: "k", value: "v" });
    await until(
      "node 2 catches up",
      () => learner.appliedIndex >= leader.commitIndex && learner.appliedIndex > added,
    );
    assert.equal(
      learner.isQuarantined,
      true,
      "replaying the old incarnation's learner stage lifted the quarantine",
    );
  } finally {
    await learner.stop();
    await leader.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a learner whose add-learner entry is covered by its first snapshot may vote (bug 4)", async () => {
  const root = await Deno.makeTempDir({ prefix: "quarantine-" });
  const leader = await RaftKvNode.start(options(1, `${root}/n1`, true, { retainEntries: 0 }));
  const o2 = options(2, `${root}/n2`, false, { incarnation: "inc-2" } as Partial<RaftKvNodeOptions>);
  let learner = await RaftKvNode.start(o2);
  const incarnation = learner.incarnation;
  await learner.stop();
  try {
    await addLearner(leader, o2, incarnation);
    for (let i = 0; i < 5; i++) await leader.write({ op: "put", key: `k${i}`, value: "v" });
    const snapshotIndex = await leader.snapshotNow();
    learner = await RaftKvNode.start(o2);
    assert.equal(learner.isQuarantined, true);
    await until("node 2 installs the snapshot", () => learner.appliedIndex >= snapshotIndex);
    assert.equal(
      learner.isQuarantined,
      false,
      "the snapshot lists this incarnation, yet it stays quarantined",
    );
  } finally {
    await learner.stop();
    await leader.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("read index contexts of a restarted node never repeat its previous process's (bug 6)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "read-context-" });
  const o = options(1, dir, true);
  try {
    const first = await RaftKvNode.start(o);
    const before = (first as unknown as { readContextPrefix?: string }).readContextPrefix ?? String(first.id);
    await first.stop();
    const second = await RaftKvNode.start(o);
    const after = (second as unknown as { readContextPrefix?: string }).readContextPrefix ??
      String(second.id);
    await second.stop();
    assert.notEqual(after, before, "a restarted node numbers its read rounds from the same context prefix");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("storage written by an older version keeps its incarnation from identity.json", async () => {
  const dir = await Deno.makeTempDir({ prefix: "legacy-" });
  const o = options(1, dir, true);
  try {
    const first = await RaftKvNode.start(o);
    await first.stop();
    // What an older version left: no INCARNATION file; the incarnation lived in identity.json.
    await Deno.remove(`${dir}/raft/INCARNATION`);
    await Deno.writeTextFile(
      `${dir}/identity.json`,
      JSON.stringify({ nodeId: 1, clusterId: "quarantine-test", incarnation: "legacy-inc", createdAt: "" }),
    );
    const second = await RaftKvNode.start(o);
    try {
      assert.equal(second.incarnation, "legacy-inc");
      assert.equal(second.isQuarantined, false);
      assert.equal(await Deno.readTextFile(`${dir}/raft/INCARNATION`), "legacy-inc\n");
    } finally {
      await second.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

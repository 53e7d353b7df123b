import assert from "node:assert/strict";
import { assessHealth, type NodeHealth } from "./cluster_health.ts";
import type { LocalClusterState, LocalNode } from "./state.ts";
import { initialStatus } from "../reconfig/types.ts";

const node = (id: number, slot: number): LocalNode => ({
  slot,
  id,
  clientUrl: `http://127.0.0.1:${8080 + slot}`,
  peerAddress: `127.0.0.1:${7080 + slot}`,
  dataDir: `/x/node-${id}`,
  logFile: `/x/node-${id}.log`,
  pid: 100 + id,
  state: "running",
  restarts: 0,
});

const state = (over: Partial<LocalClusterState["reconfig"]> = {}): LocalClusterState => ({
  version: 1,
  clusterId: "local",
  adminToken: "a",
  peerToken: "p",
  safetyMode: "safe",
  faultInjection: false,
  tickMs: 50,
  snapshotEntries: 10_000,
  retainEntries: 1_000,
  desiredReplicas: 3,
  ports: "auto",
  slotPorts: {},
  nodes: [node(1, 0), node(2, 1), node(3, 2)],
  reconfig: { ...initialStatus(), members: [], message: "steady", ...over },
});

const healthy = (id: number, role = "follower"): NonNullable<NodeHealth["status"]> => ({
  id,
  role,
  conf: { voters: [1, 2, 3], learners: [], joint: false },
  diskAlarm: { raised: false, reserveBytes: 64 << 20, freeBytes: 1 << 30 },
});

Deno.test("a cluster of three healthy voters under a live supervisor is whole", () => {
  const s = state();
  const h = assessHealth(
    s,
    true,
    s.nodes.map((n, i) => ({
      node: n,
      process: "running",
      status: healthy(n.id, i ? "follower" : "leader"),
    })),
  );
  assert.deepEqual(h.problems, []);
  assert.equal(h.whole, true);
});

Deno.test("not whole: a dead pid, a quarantined member, a replacement, a full disk, a dead supervisor", () => {
  const s = state({ phase: "EnterJoint", replacing: [{ slot: 1, lostId: 2 }], message: "entering joint" });
  const h = assessHealth(s, false, [
    {
      node: s.nodes[0],
      process: "running",
      status: {
        ...healthy(1, "leader"),
        diskAlarm: { raised: true, reserveBytes: 64 << 20, freeBytes: 1 << 20 },
      },
    },
    { node: s.nodes[1], process: "running", status: { ...healthy(2), quarantined: true } },
    { node: s.nodes[2], process: "dead" },
  ]);
  assert.equal(h.whole, false);
  const text = h.problems.join("\n");
  assert.match(text, /supervisor is not running: "deno task local start" resumes/);
  assert.match(text, /replacing node 2 \(lost its storage\) in slot 1: EnterJoint/);
  assert.match(text, /node 2 came back with empty storage/);
  assert.match(text, /node 3: its process \(pid 103\) is gone/);
  assert.match(text, /node 1: NOSPACE alarm \(1\.0 MiB free, reserve 64\.0 MiB\)/);
});

Deno.test("a new member waiting to be added is 'joining', not lost; a joint or short configuration is not whole", () => {
  const s = state({ phase: "AddLearners", adding: [{ slot: 1, id: 4 }] });
  s.nodes[1] = node(4, 1);
  const h = assessHealth(s, true, [
    {
      node: s.nodes[0],
      process: "running",
      status: { ...healthy(1, "leader"), conf: { voters: [1, 3], learners: [], joint: true } },
    },
    { node: s.nodes[1], process: "running", status: { ...healthy(4), quarantined: true } },
    { node: s.nodes[2], process: "running", status: healthy(3) },
  ]);
  const text = h.problems.join("\n");
  assert.match(text, /node 4 is new and waits to be added as a learner/);
  assert.doesNotMatch(text, /node 4 came back with empty storage/);
  assert.match(text, /the configuration is joint/);
  assert.match(text, /2 voters \[1,3\], 3 desired/);
});

Deno.test("a member still applying its own addition is 'joining' when the leader holds its incarnation; else lost", () => {
  const s = state({ phase: "Idle", members: [{ slot: 0, id: 1 }, { slot: 1, id: 2 }, { slot: 2, id: 3 }] });
  const leader = {
    ...healthy(1, "leader"),
    members: { 1: { incarnation: "i1" }, 2: { incarnation: "i2" }, 3: { incarnation: "i3" } },
  };
  const assess = (node3Incarnation: string) =>
    assessHealth(s, true, [
      { node: s.nodes[0], process: "running", status: leader },
      { node: s.nodes[1], process: "running", status: healthy(2) },
      {
        node: s.nodes[2],
        process: "running",
        status: { ...healthy(3), quarantined: true, incarnation: node3Incarnation },
      },
    ]).problems.join("\n");
  assert.match(assess("i3"), /node 3 is new and waits to be added as a learner/);
  assert.doesNotMatch(assess("i3"), /came back with empty storage/);
  assert.match(assess("i3-wiped"), /node 3 came back with empty storage/);
});

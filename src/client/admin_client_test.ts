import assert from "node:assert/strict";
import { AdminClient, KvError } from "./mod.ts";
import { FakeCluster } from "./testing/fake_cluster.ts";

Deno.test("admin calls: configuration changes are typed and idempotent", async (t) => {
  await using fake = await FakeCluster.start({ faultInjection: true });
  await using admin = new AdminClient({ endpoints: [fake.url(2)], token: fake.adminToken });

  await t.step("config", async () => {
    const config = await admin.config();
    assert.equal(config.changed, false);
    assert.deepEqual(config.conf.voters, [1, 2, 3]);
  });
  await t.step("add a learner twice: one change, then the same index", async () => {
    const learner = { id: 4, peer: "127.0.0.1:9004", client: "http://127.0.0.1:8004" };
    const first = await admin.addLearner(learner);
    assert.equal(first.changed, true);
    assert.deepEqual(first.conf.learners, [4]);
    const again = await admin.addLearner(learner);
    assert.equal(again.changed, false);
    assert.equal(again.index, first.index);
  });
  await t.step("joint, then leave: indexes only grow", async () => {
    const joint = await admin.enterJoint([1, 2, 4]);
    assert.equal(joint.conf.joint, true);
    assert.deepEqual(joint.conf.votersOutgoing, [1, 2, 3]);
    assert.equal((await admin.enterJoint([1, 2, 4])).changed, false);
    const left = await admin.leaveJoint();
    assert.equal(left.conf.joint, false);
    assert.ok(left.index > joint.index);
    assert.equal((await admin.leaveJoint()).changed, false);
  });
  await t.step("transfer leadership, remove a member, snapshot", async () => {
    assert.equal((await admin.transferLeader(2)).leader, 2);
    assert.equal(fake.leader, 2);
    await assert.rejects(
      admin.removeMember(1),
      (error) =>
        error instanceof KvError && error.status === 409 &&
        /voters leave through a joint/.test(error.message),
    );
    assert.ok((await admin.snapshot()).index > 0);
  });
  await t.step("identity goes to the named node only", async () => {
    const identity = await admin.setIdentity(3, { id: 3, clusterId: fake.clusterId, bootstrap: false });
    assert.deepEqual({ id: identity.id, changed: identity.changed }, { id: 3, changed: false });
    assert.equal(fake.requests.at(-1)?.node, 3);
    await assert.rejects(
      admin.setIdentity(3, { id: 7, clusterId: fake.clusterId, bootstrap: false }),
      /node is 3/,
    );
  });
  await t.step("faults are per node", async () => {
    assert.deepEqual((await admin.injectFault(1, { action: "partition", peers: [2, 3] })).partitioned, [
      2,
      3,
    ]);
    assert.equal((await admin.injectFault(1, { action: "isolate" })).isolated, true);
    assert.deepEqual((await admin.faults(1)).partitioned, [2, 3]);
    assert.deepEqual((await admin.faults(2)).partitioned, []);
    await admin.injectFault(1, { action: "heal" });
    assert.deepEqual(fake.faultsOf(1), {
      enabled: true,
      isolated: false,
      partitioned: [],
      drop: [],
      delay: [],
    });
  });
  await t.step("config lists the members; the unsafe calls are refused in safe mode", async () => {
    assert.equal((await admin.config()).members?.["4"]?.client, "http://127.0.0.1:8004");
    await assert.rejects(
      admin.votersDirect([1, 2, 3, 4]),
      (error) => error instanceof KvError && error.status === 409,
    );
    await assert.rejects(
      admin.adoptConfig(2, { voters: [1, 2] }),
      (error) => error instanceof KvError && error.status === 403 && error.code === "forbidden",
    );
  });
});

Deno.test("admin: the unsafe calls where the safety mode allows them", async () => {
  await using early = await FakeCluster.start({ safetyMode: "unsafe-early-vote" });
  await using earlyAdmin = new AdminClient({ endpoints: early.urls, token: early.adminToken });
  const member = { peer: "127.0.0.1:9004", client: "http://127.0.0.1:8004" };
  const direct = await earlyAdmin.votersDirect([1, 2, 3, 4], { 4: member });
  assert.deepEqual([direct.changed, direct.conf.voters, direct.conf.joint], [true, [1, 2, 3, 4], false]);

  await using noJoint = await FakeCluster.start({ safetyMode: "unsafe-no-joint" });
  await using noJointAdmin = new AdminClient({ endpoints: noJoint.urls, token: noJoint.adminToken });
  await noJointAdmin.adoptConfig(3, { voters: [1, 2, 3, 4, 5] });
  assert.deepEqual(noJoint.adoptedConfigs, [{ node: 3, voters: [1, 2, 3, 4, 5], learners: [] }]);
});

Deno.test("admin: a wrong token is refused with the fix; calls fail over like the kv client", async () => {
  await using fake = await FakeCluster.start();
  await using wrong = new AdminClient({ endpoints: fake.urls, token: "nope" });
  await assert.rejects(
    wrong.config(),
    (error) => error instanceof KvError && error.status === 401 && /adminToken/.test(error.message),
  );
  await assert.rejects(
    wrong.faults(1),
    (error) => error instanceof KvError && error.status === 401,
  );
  assert.throws(() => new AdminClient({ endpoints: fake.urls, token: "" }), /admin token/);

  await using admin = new AdminClient({ endpoints: fake.urls, token: fake.adminToken });
  await fake.kill(1);
  fake.setLeader(3);
  assert.deepEqual((await admin.config()).conf.voters, [1, 2, 3]);
  await assert.rejects(
    admin.faults(2),
    (error) => error instanceof KvError && error.code === "faults_disabled" && error.status === 403,
  );
});

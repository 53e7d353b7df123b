/**
 * `deno task fault`: its command line (bad input is a usage error that changes nothing), and the
 * commands themselves against real local clusters, with fault injection off (refused) and on.
 */
import assert from "node:assert/strict";
import { execute, parseCommand, UsageError } from "./cli.ts";
import { LocalTarget } from "./local_target.ts";
import { FaultRefused } from "./target.ts";
import { ExperimentCluster } from "../lib/cluster_harness.ts";

Deno.test("fault: the command line", () => {
  const p = parseCommand(["partition", "1,2", "3,4,5", "--state-dir", "/tmp/x"]);
  assert.deepEqual(p.help ? undefined : [p.op, p.stateDir, p.kube], [
    { kind: "partition", a: [1, 2], b: [3, 4, 5] },
    "/tmp/x",
    undefined,
  ]);
  const d = parseCommand(["delay", "2", "1.5s", "--jitter", "20ms"]);
  assert.deepEqual(d.help ? undefined : d.op, { kind: "delay", id: 2, ms: 1500, jitterMs: 20 });
  const r = parseCommand(["refuse-admin", "2"]);
  assert.deepEqual(r.help ? undefined : r.op, { kind: "refuse-admin", id: 2 });
  const l = parseCommand(["loss", "3", "10%"]);
  assert.deepEqual(l.help ? undefined : l.op, { kind: "loss", id: 3, probability: 0.1 });
  const k = parseCommand(["--kube", "--namespace", "ns", "demo", "leader-kill"]);
  assert.deepEqual(k.help ? undefined : [k.op, k.kube], [{ kind: "leader-kill" }, {
    name: "demo",
    namespace: "ns",
  }]);
  for (
    const bad of [
      [],
      ["bogus"],
      ["partition", "1,2", "2,3"],
      ["partition", "1"],
      ["kill", "0"],
      ["kill", "x"],
      ["delay", "2", "fast"],
      ["delay", "2", "2m"],
      ["loss", "2", "110%"],
      ["loss", "2", "0.1"],
      ["heal", "now"],
      ["kill", "1", "--jitter", "5ms"],
      ["--kube"],
      ["--namespace", "x", "status"],
      ["status", "--frobnicate"],
    ]
  ) {
    assert.throws(() => parseCommand(bad), UsageError, `refused: ${bad.join(" ")}`);
  }
});

Deno.test("fault: refused when the cluster runs without fault injection; status still answers", async () => {
  const c = await ExperimentCluster.start({ replicas: 3, mode: "safe", faultInjection: false });
  try {
    const target = await LocalTarget.open(c.stateDir);
    const partition = parseCommand(["partition", "1", "2,3"]);
    await assert.rejects(execute(target, partition as typeof partition & { help: false }), FaultRefused);
    const kill = parseCommand(["leader-kill"]);
    await assert.rejects(execute(target, kill as typeof kill & { help: false }), /without fault injection/);
    const status = parseCommand(["status"]);
    const lines = await execute(target, status as typeof status & { help: false });
    assert.match(lines[0], /fault injection off/);
    assert.equal(lines.length, 5);
    assert.equal(await c.leader() !== undefined, true, "nothing was killed");
  } finally {
    await c.stop();
  }
});

Deno.test("fault: partition, delay, loss and heal reach every node; undo is printed", async () => {
  const c = await ExperimentCluster.start({ replicas: 3, mode: "safe" });
  const run = async (...args: string[]) => {
    const p = parseCommand(args);
    return await execute(await LocalTarget.open(c.stateDir), p as typeof p & { help: false });
  };
  try {
    const leader = (await c.leader())!;
    const rest = c.nodes.map((n) => n.id).filter((id) => id !== leader);
    const out = await run("partition", String(leader), rest.join(","));
    assert.match(out.at(-1)!, /undo: deno task fault heal/);
    // The majority side elects a new leader; the old one is cut off.
    await c.waitFor(
      "a leader among the majority",
      async () => rest.includes((await c.leader()) ?? -1),
      15_000,
    );
    const status = (await run("status")).join("\n");
    assert.match(status, new RegExp(`node ${leader} .*cut from \\[${rest.join(",")}\\]`));
    assert.match(
      (await run("delay", String(rest[0]), "100ms")).join("\n"),
      /holds every message .* for 100 ms/,
    );
    assert.match((await run("loss", String(rest[1]), "5%")).join("\n"), /drops 5% of the messages/);
    assert.match((await run("refuse-admin", String(rest[1]))).join("\n"), /admin API answers 503/);
    assert.match((await run("status")).join("\n"), /admin API refuses calls/);
    const refused = await fetch(`${c.node(rest[1]).clientUrl}/admin/config`, {
      headers: { authorization: `Bearer ${c.sup.state.adminToken}` },
    });
    assert.equal(refused.status, 503);
    await refused.body?.cancel();
    const healed = await run("heal");
    assert.equal(healed.filter((l) => l.startsWith("healed")).length, 3);
    assert.doesNotMatch((await run("status")).join("\n"), /cut from|delay|loss|refuses/);
  } finally {
    await c.stop();
  }
});

/**
 * The evaluation benchmarks in their --quick form, on real processes: each writes its JSON, its
 * charts and its markdown summary, with the machine's load average and numbers that are real
 * measurements (positive throughput, ordered percentiles). etcd rows where etcd is installed.
 */
import assert from "node:assert/strict";
import { etcdVersion } from "../lib/etcd_cluster.ts";
import { goUnavailable } from "../../src/localkube/build.ts";

const resultsDir = await Deno.makeTempDir({ prefix: "raftkv-bench-results-" });
Deno.env.set("RAFTKV_RESULTS_DIR", resultsDir);
globalThis.addEventListener("unload", () => Deno.removeSync(resultsDir, { recursive: true }));
const etcd = await etcdVersion();
const compare = etcd ? ["--compare", "etcd"] : [];

async function written(name: string, charts: string[] = [""]) {
  const json = JSON.parse(await Deno.readTextFile(`${resultsDir}/${name}.json`));
  assert.equal(json.machine.loadAverage.length, 3, "the load average is recorded");
  for (const c of charts) {
    const svg = await Deno.readTextFile(`${resultsDir}/${name}${c ? `-${c}` : ""}.svg`);
    assert.match(svg, /^<svg/);
    assert.doesNotMatch(svg, /NaN/);
  }
  assert.match(await Deno.readTextFile(`${resultsDir}/${name}.md`), /^Measured .* load average/);
  return json;
}

Deno.test(`bench steady --quick${etcd ? " --compare etcd" : " (etcd not installed)"}`, async () => {
  await (await import("./steady.ts")).run(["--quick", ...compare]);
  const t = await written("throughput-vs-qps", ["", "open"]);
  const systems = new Set(t.closedLoop.map((r: { system: string }) => r.system));
  assert.deepEqual([...systems].sort(), etcd ? ["etcd", "raft-kv"] : ["raft-kv"]);
  for (const r of t.closedLoop) {
    assert.ok(r.opsPerSec > 0 && r.p50Ms <= r.p99Ms && r.p99Ms <= r.p999Ms, JSON.stringify(r));
    // Each member's CPU per operation over the row (experiments/lib/process_cpu.ts), for both systems.
    const cpu: unknown[] = r.cpuUsPerOp ?? [];
    assert.ok(cpu.length === 3 && cpu.every((us) => typeof us === "number" && us >= 0), JSON.stringify(r));
    assert.ok(Math.max(...cpu as number[]) > 0, `no member used any CPU: ${JSON.stringify(r)}`);
  }
  assert.ok(t.openLoop.length > 0);
  const l = await written("latency-percentiles", ["", "open-writes", "open-reads"]);
  assert.equal(l.openLoop.length, t.openLoop.length);
  // Every raft-kv row carries its per-stage breakdown, read from the nodes' /metrics.
  for (const r of l.closedLoop.filter((r: { system: string }) => r.system === "raft-kv")) {
    const total = r.stages?.[r.kind === "write" ? "write_total" : "read_total"];
    assert.ok(total?.count > 0 && total.p50Ms <= total.p99Ms, `stages of ${JSON.stringify(r)}`);
  }
  // The floor of a lone client's write, measured in the same run, and that write part by part.
  const f = l.latencyFloor;
  for (const part of ["httpRoundTrip", "peerRoundTrip", "fdatasyncAlone", "fdatasyncThreeAtOnce"]) {
    assert.ok(
      f[part].count > 0 && f[part].p50Us > 0 && f[part].p50Us <= f[part].p99Us,
      `${part}: ${JSON.stringify(f)}`,
    );
  }
  const lone = l.closedLoop.find((r: { system: string; kind: string; clients: number }) =>
    r.system === "raft-kv" && r.kind === "write" && r.clients === 1
  );
  assert.equal(lone.floorGap.length, 5);
  assert.equal(lone.floorGap[4].measuredMs, lone.p50Ms, "the last part is the whole write at the client");
  assert.equal(lone.floorGap[4].floorMs, f.writeFloorP50Ms);
});

Deno.test(`bench failover --quick${etcd ? " --compare etcd" : ""}`, async () => {
  await (await import("./failover.ts")).run(["--quick", ...compare]);
  const f = await written("failover-times");
  for (const k of f.kills) assert.ok(k.newLeaderMs > 0 && k.firstWriteMs > 0 && k.oldLeader !== k.newLeader);
  assert.deepEqual(f.wholeAgain.map((w: { fault: string }) => w.fault), ["follower kill", "disk loss"]);
  assert.ok(f.wholeAgain[0].wholeAfterMs > 0, "a killed follower comes back");
});

Deno.test("bench reconfig --quick", async () => {
  await (await import("./reconfig.ts")).run(["--quick"]);
  const r = await written("reconfig-durations", ["", "throughput"]);
  assert.deepEqual(r.changes.map((c: { change: string }) => c.change), ["3 -> 5", "5 -> 3, leader leaving"]);
  const phases = r.changes.flatMap((c: { phases: { phase: string }[] }) => c.phases.map((p) => p.phase));
  for (const p of ["AddLearners", "CatchUp", "EnterJoint", "TransferLeader"]) {
    assert.ok(phases.includes(p), p);
  }
});

Deno.test("bench snapshot --quick", async () => {
  await (await import("./snapshot.ts")).run(["--quick"]);
  const s = await written("snapshot-metrics");
  const [row] = s.sizes;
  assert.ok(row.snapshotBytes > row.keys * 100, "the snapshot holds every 100-byte value");
  assert.ok(row.restartToServingMs > 0 && row.learnerCatchUpMs > 0);
  assert.equal(row.learnerGotSnapshot, true);
  assert.ok(row.leaderRssMB > 10, "the leader's resident memory is reported");
});

Deno.test("bench check-vs-porcupine --rounds 1: both checkers agree on Porcupine's fixtures", async () => {
  const why = await goUnavailable();
  if (why) {
    console.error(`!!! SKIPPED check-vs-porcupine (Porcupine is built with Go): ${why}`);
    return;
  }
  // The bench throws if either checker's verdict contradicts a fixture's name (-ok / -bad).
  await (await import("./check_vs_porcupine.ts")).run(["--rounds", "1"]);
  const c = await written("check-vs-porcupine");
  const histories = [...new Set(c.rows.map((r: { history: string }) => r.history))];
  assert.deepEqual(histories, ["c01-ok", "c01-bad", "c10-ok", "c10-bad", "c50-ok", "c50-bad", "all six"]);
  for (const r of c.rows) {
    assert.ok(r.runs === 1 && r.cpuMs.median > 0 && r.wallMs.median > 0, JSON.stringify(r));
  }
});

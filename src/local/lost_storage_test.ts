/**
 * "Done means" of the lost-disk issue, on real processes: a local 3-node cluster under writes and
 * reads spread over all nodes; a follower's storage is wiped (SIGKILL, data directory deleted
 * before the supervisor restarts it), then another follower's, then the leader's. Each time a GET
 * on the wiped node answers within 2 s, and the cluster is whole again (3 healthy voters, none
 * quarantined, no joint configuration) within 60 s, replaced under a new id; the recorded history
 * checks linearizable with the project's checker, final reads included (no acknowledged write lost).
 */
import assert from "node:assert/strict";
import { HistoryRecorder, parseJsonlHistory } from "../check/history.ts";
import { checkHistory } from "../check/checker.ts";
import { kvModel } from "../check/kv_model.ts";
import { verdictLine } from "../check/summary.ts";
import { RecordedWorkload } from "../../experiments/lib/workload.ts";
import {
  isWhole,
  leaderId,
  nodeStatus,
  sleep,
  until,
  wipeNode,
  withSupervisedCluster,
} from "./test_support.ts";

interface WipeRound {
  which: string;
  lostId: number;
  newId: number;
  wholeAfterMs: number;
  okOpsPerSecond: number;
  wipedNodeGetMs: { max: number; median: number; samples: number; statuses: Record<string, number> };
  refusals?: unknown[];
}

/** GETs the wiped node's URL every 100 ms until stopped: how long each answer took, and with what. */
function probeGets(url: string) {
  const times: number[] = [];
  const statuses: Record<string, number> = {};
  /** The first refusals of the wiped node itself (a GET and a PUT), to check what they say. */
  const refusals: Array<
    { method: string; ms: number; retryAfter: string | null; code: string; message: string }
  > = [];
  let running = true;
  /** The slowest answer: what it was and when (to tell a slow node from a hung one). */
  let slowest: { ms: number; status: string; at: string } | undefined;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      let status: string;
      try {
        const r = await fetch(`${url}/kv/k0`, { signal: AbortSignal.timeout(10_000) });
        status = String(r.status);
        const body = await r.json();
        if (r.status === 503 && body.error.code === "lost_storage" && !refusals.length) {
          refusals.push({
            method: "GET",
            ms: performance.now() - t0,
            retryAfter: r.headers.get("retry-after"),
            ...body.error,
          });
          const t1 = performance.now();
          const w = await fetch(`${url}/kv/k0`, { method: "PUT", body: JSON.stringify({ value: "probe" }) });
          const wb = await w.json();
          if (w.status === 503) {
            refusals.push({
              method: "PUT",
              ms: performance.now() - t1,
              retryAfter: w.headers.get("retry-after"),
              ...wb.error,
            });
          }
        }
      } catch (e) {
        status = (e as Error).name === "TimeoutError" ? "timeout" : "refused";
      }
      statuses[status] = (statuses[status] ?? 0) + 1;
      const ms = performance.now() - t0;
      if (status !== "refused") times.push(ms);
      if (ms > (slowest?.ms ?? 0) && status !== "refused") {
        slowest = { ms: Math.round(ms), status, at: new Date().toISOString() };
      }
      await sleep(100);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const sorted = [...times].sort((a, b) => a - b);
      return {
        max: Math.round(sorted.at(-1) ?? 0),
        median: Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0),
        samples: sorted.length,
        statuses,
        refusals,
        slowest,
      };
    },
  };
}

Deno.test({
  name:
    "wiped followers and a wiped leader are replaced under new ids; reads on them never hang; linearizable",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withSupervisedCluster({}, async (sup) => {
      const recorder = new HistoryRecorder({ model: "kv" });
      const endpoints = () => sup.state.nodes.map((n) => n.clientUrl);
      const workload = new RecordedWorkload(recorder, { keys: 12, endpoints, requestTimeoutMs: 3000 });
      workload.start(6);
      await sleep(1500);
      const rounds: WipeRound[] = [];
      const usedIds = new Set(sup.state.nodes.map((n) => n.id));
      for (const which of ["follower", "another follower", "leader"]) {
        const leader = await leaderId(sup);
        const victim = which === "leader"
          ? sup.state.nodes.find((n) => n.id === leader)!
          : sup.state.nodes.find((n) => n.id !== leader && !rounds.some((r) => r.newId === n.id))!;
        const { slot, id: lostId, clientUrl } = victim;
        const okBefore = workload.counts.ok;
        recorder.note(`wipe node ${lostId} (${which})`);
        const t0 = performance.now();
        await wipeNode(victim);
        const probe = probeGets(clientUrl);
        await until(`the cluster to be whole after wiping node ${lostId}`, async () => {
          const replaced = sup.state.nodes.find((n) => n.slot === slot);
          return replaced && replaced.id !== lostId && await isWhole(sup, 3);
        }, 60_000);
        const wholeAfterMs = Math.round(performance.now() - t0);
        const gets = await probe.stop();
        const newId = sup.state.nodes.find((n) => n.slot === slot)!.id;
        rounds.push({
          which,
          lostId,
          newId,
          wholeAfterMs,
          okOpsPerSecond: Math.round((workload.counts.ok - okBefore) / (wholeAfterMs / 1000)),
          wipedNodeGetMs: gets,
        });
        assert.ok(!usedIds.has(newId), `node id ${newId} was never used before`);
        usedIds.add(newId);
        assert.ok(
          gets.max < 2000,
          `a GET on the wiped node took ${gets.max} ms: ${JSON.stringify(gets.slowest)}`,
        );
        // What the wiped node says while it waits to be replaced: at once, the truth, Retry-After.
        for (const r of gets.refusals) {
          // No wait inside: milliseconds on a quiet machine; the bound leaves room for a starved CPU.
          assert.ok(r.ms < 2000, `${r.method} refused after ${r.ms} ms`);
          assert.ok(r.retryAfter, `${r.method} without Retry-After`);
          assert.match(
            r.message,
            /started with empty storage .* (the leader is node \d+|this node knows no leader right now)/,
          );
          assert.doesNotMatch(r.message, /not known yet/);
        }
        await sleep(1000);
      }
      await workload.stop();
      await workload.finalReads(endpoints());
      const { history } = parseJsonlHistory(recorder.toJsonl());
      const result = await checkHistory(history, { model: kvModel, timeoutMs: 60_000 });
      console.log(JSON.stringify({ rounds, counts: workload.counts, verdict: verdictLine(result) }, null, 2));
      assert.equal(result.verdict, "linearizable", verdictLine(result));
      assert.ok(workload.counts.ok > 100, `only ${workload.counts.ok} operations succeeded`);
    });
  },
});

Deno.test({
  name: "a wiped node left waiting answers at once and names the leader as far as it knows it",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withSupervisedCluster({}, async (sup) => {
      await sup.stopReconciling(); // no replacement: the wiped node waits as long as we look
      const leader = await leaderId(sup);
      const victim = sup.state.nodes.find((n) => n.id !== leader)!;
      await wipeNode(victim);
      const status = await until("the wiped node to know the leader", async () => {
        const s = await nodeStatus(victim.clientUrl);
        return s?.quarantined && s.leader === leader && s;
      });
      assert.ok(status.quarantined);
      for (const method of ["GET", "PUT"]) {
        const t0 = performance.now();
        const r = await fetch(`${victim.clientUrl}/kv/a`, {
          method,
          body: method === "PUT" ? JSON.stringify({ value: "x" }) : undefined,
        });
        const ms = performance.now() - t0;
        const body = await r.json();
        assert.ok(ms < 2000, `${method} answered after ${ms} ms`);
        // The leader catches the wiped node up (quarantined: it still may not vote), so it soon knows the
        // leader's client URL from its member directory: a write is then forwarded to the leader, as any
        // follower does. A read is never served from a quarantined node's own state.
        if (method === "PUT" && r.status === 200) {
          assert.equal(body.value, "x");
          continue;
        }
        assert.equal(r.status, 503, `${method}: ${JSON.stringify(body)}`);
        assert.equal(r.headers.get("retry-after"), "2");
        assert.equal(body.error.code, "lost_storage");
        assert.equal(body.error.leader, leader);
        // Before that catch-up it knows the leader only from the peer handshake.
        assert.match(
          body.error.message,
          new RegExp(
            `the leader is node ${leader} (\\(peer address 127\\.0\\.0\\.1:\\d+, learned from the peer handshake\\)` +
              `|at http://127\\.0\\.0\\.1:\\d+)`,
          ),
        );
      }
      const metrics = await (await fetch(`${victim.clientUrl}/metrics`)).text();
      assert.match(metrics, /^raftkv_quarantined 1$/m);
    });
  },
});

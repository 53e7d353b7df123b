/**
 * The project's two membership bugs, reproduced on real processes (real TCP, real fsync) with a
 * fixed fault schedule, and judged by the linearizability checker from the clients' history.
 * The same schedule runs in the unsafe mode (a violation is found every time) and in `safe`
 * (the history is linearizable).
 *
 * bug1 (unsafe-early-vote): 3 voters {1,2,3}, leader 1; members 4 and 5 start empty and cut off
 * from the leader. They are added straight as voters (no learner stage, no catch-up). Node 3 is
 * cut off from 1 and misses writes that 1 and 2 commit with the old majority. Then {1,2} | {3,4,5}:
 * node 3 wins an election with the votes of the empty 4 and 5, serves reads that miss the
 * acknowledged writes, and commits its own writes over them. In safe mode 4 and 5 join as
 * learners, which never vote: node 3 cannot win, its side answers "no leader".
 *
 * bug2 (unsafe-no-joint): 3 -> 5. Learners 4 and 5 are added and catch up; then, with no joint
 * phase, nodes 4, 5 and 3 adopt C_new = {1..5} one by one (outside the log) while 1 (the leader)
 * and 2 still run C_old = {1,2,3}. {1,2} | {3,4,5}: 1 keeps committing with {1,2}, a majority of
 * C_old, while {3,4,5}, a majority of C_new, elects a leader and commits other writes. In safe
 * mode the change goes through C_old,new, which needs both majorities: neither side commits.
 */
import type { SafetyMode } from "../src/raft/mod.ts";
import { HistoryRecorder } from "../src/check/history.ts";
import { ExperimentCluster } from "./lib/cluster_harness.ts";
import { RecordedWorkload } from "./lib/workload.ts";
import { checkAndReport } from "./lib/check_run.ts";
import { explainSplitBrain, explainStaleRead, type SideLeader } from "./lib/explain.ts";

export type BugName = "bug1" | "bug2";

export const UNSAFE_MODE_OF: Record<BugName, SafetyMode> = {
  bug1: "unsafe-early-vote",
  bug2: "unsafe-no-joint",
};

export interface BugOutcome {
  bug: BugName;
  mode: SafetyMode;
  verdict: string;
  verdictLine: string;
  operations: number;
  sideLeaderElected: boolean;
  /** The violation in words (undefined when there is none to explain). */
  explanation?: string;
  /** Relative to the repository when the results are in it. */
  htmlPath: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runBugExperiment(bug: BugName, mode: SafetyMode, seconds = 4): Promise<BugOutcome> {
  const log = (line: string) => console.log(`  [${bug} ${mode}] ${line}`);
  const cluster = await ExperimentCluster.start({ replicas: 3, mode });
  const recorder = new HistoryRecorder({ model: "kv" });
  let sideLeaderElected = false;
  let workload: RecordedWorkload | undefined;
  let oldSide: SideLeader | undefined;
  let newSide: SideLeader | undefined;
  let t0 = performance.now();
  let partitionedAt = t0;
  let healedAt = Infinity;
  try {
    await cluster.sup.stopReconciling(); // from here on the experiment drives every step itself
    const first = await cluster.leader();
    if (first !== 1) {
      await cluster.sup.runAction({ kind: "transferLeader", to: 1 });
      await cluster.waitFor("node 1 to lead", async () => (await cluster.leader()) === 1);
    }
    log("3 voters up, node 1 leads");
    const note = (text: string) => {
      recorder.note(text);
      log(text);
    };
    const newMembers = [{ slot: 3, id: 4 }, { slot: 4, id: 5 }];
    await cluster.sup.runAction({ kind: "startMembers", members: newMembers, bootstrap: false });

    if (bug === "bug1") {
      await cluster.partition([[1], [4, 5]]);
      note("4 and 5 started empty, cut off from leader 1");
      if (mode === "unsafe-early-vote") {
        await cluster.sup.runAction({ kind: "changeVotersDirectly", voters: [1, 2, 3, 4, 5] });
        note("UNSAFE: 4 and 5 added as voters at once (no learner stage)");
      } else {
        await cluster.sup.runAction({ kind: "addLearners", members: newMembers });
        note("4 and 5 added as learners (safe)");
      }
      await cluster.waitFor(
        "node 3 to apply the change",
        async () => ((await cluster.status(3))?.conf as { index: number })?.index >= 3,
      );
      await cluster.partition([[1], [3, 4, 5]]);
      note("node 3 cut off from leader 1: it misses what 1 and 2 commit next");
    } else {
      await cluster.sup.runAction({ kind: "addLearners", members: newMembers });
      await cluster.waitFor("learners to catch up", async () => {
        const s = await cluster.status(1);
        const p = s?.progress as Record<string, { match: number }> | undefined;
        return !!p && [4, 5].every((id) => (p[String(id)]?.match ?? 0) >= (s!.lastIndex as number) - 2);
      });
      note("learners 4 and 5 caught up");
      if (mode === "unsafe-no-joint") {
        for (const id of [4, 5, 3]) {
          await cluster.sup.runAction({
            kind: "adoptConfig",
            member: { slot: 0, id },
            voters: [1, 2, 3, 4, 5],
          });
          note(`UNSAFE: node ${id} adopts C_new = {1..5} outside the log`);
        }
      } else {
        await cluster.sup.runAction({ kind: "enterJoint", voters: [1, 2, 3, 4, 5] });
        note("entered C_old,new = {1..5} && {1,2,3} (safe)");
      }
    }

    // Clients on both sides of the coming split: 0-2 talk to node 1, 3-5 to node 3. In bug1 node 1's
    // side only writes and node 3's side only reads, so that any read node 3 serves from its stale
    // log is a stale read of an acknowledged write (were node 3's side to write a key before reading
    // it, the stale state would go unseen). In bug2 both sides write: they commit different entries.
    const writes = { get: 0, put: 1, delete: 0, cas: 0 };
    const reads = { get: 1, put: 0, delete: 0, cas: 0 };
    const both = { get: 0.5, put: 0.5, delete: 0, cas: 0 };
    workload = new RecordedWorkload(recorder, {
      keys: 3,
      endpoints: () => cluster.endpoints(),
      requestTimeoutMs: 1000,
      pin: (client) => cluster.node(client < 3 ? 1 : 3).clientUrl,
      mix: (client) => bug === "bug1" ? (client < 3 ? writes : reads) : both,
    });
    t0 = performance.now();
    workload.start(6);
    await sleep(700);
    const oldTerm = (await cluster.status(1))?.term;
    oldSide = {
      endpoint: cluster.node(1).clientUrl,
      description: `node 1 (leader of {1,2} in term ${oldTerm})`,
    };
    await cluster.partition([[1, 2], [3, 4, 5]]);
    partitionedAt = performance.now();
    note("partition {1,2} | {3,4,5}");
    // The clients keep going for `seconds` after the {3,4,5} side starts serving linearizable
    // reads (the window in which the bug shows); a slow machine gets up to 20 s to get there. In
    // safe mode that side never serves, and the clients run for `seconds` plus an election or two.
    const servingDeadline = performance.now() + 20_000;
    let deadline = performance.now() + seconds * 1000 + 2000;
    let sideServes = false;
    const unsafe = mode !== "safe";
    while (performance.now() < (unsafe && !sideServes ? servingDeadline : deadline)) {
      for (const id of [3, 4, 5]) {
        const s = await cluster.status(id);
        if (s?.role === "leader" && !sideLeaderElected) {
          sideLeaderElected = true;
          newSide = {
            endpoint: cluster.node(3).clientUrl,
            description: `node ${id} (leader of {3,4,5} in term ${s.term}${
              id === 3 ? "" : ", through node 3"
            })`,
          };
          note(`node ${id} leads the {3,4,5} side (term ${s.term})`);
        }
      }
      if (sideLeaderElected && !sideServes) {
        const r = await fetch(`${cluster.node(3).clientUrl}/kv/probe`, { signal: AbortSignal.timeout(500) })
          .catch(() => undefined);
        await r?.body?.cancel();
        if (r && (r.status === 200 || r.status === 404)) {
          sideServes = true;
          deadline = performance.now() + seconds * 1000;
          note("the {3,4,5} side serves linearizable reads");
        }
      }
      await sleep(100);
    }
    await workload.stop();
    healedAt = performance.now();
    await cluster.heal();
    note("healed");
    await sleep(1500);
    await workload.finalReads([cluster.node(1).clientUrl]);
  } finally {
    await workload?.stop();
    await cluster.stop();
  }
  const acks = workload!.acknowledged;
  const explanation = oldSide && newSide
    ? bug === "bug1"
      ? explainStaleRead(acks, t0, oldSide, newSide)
      : explainSplitBrain(acks, t0, oldSide, newSide, partitionedAt, healedAt)
    : undefined;
  const checked = await checkAndReport(`${bug}-${mode}`, recorder, {
    bug,
    mode,
    operations: { total: recorder.size, ...workload!.counts },
    sideLeaderElected,
    explanation: explanation ??
      (sideLeaderElected
        ? "no violation found in the acknowledged operations"
        : "the {3,4,5} side never elected a leader"),
  });
  log(checked.verdict);
  if (explanation) log(explanation);
  return {
    bug,
    mode,
    verdict: checked.result.verdict,
    verdictLine: checked.verdict,
    operations: recorder.size,
    sideLeaderElected,
    explanation,
    htmlPath: checked.htmlPath,
  };
}

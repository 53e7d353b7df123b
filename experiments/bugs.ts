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
import { type BugName, type BugOutcome, judgeSplit, runSplit, type SplitRun } from "./lib/split_schedule.ts";

export type { BugName, BugOutcome };

export const UNSAFE_MODE_OF: Record<BugName, SafetyMode> = {
  bug1: "unsafe-early-vote",
  bug2: "unsafe-no-joint",
};

export async function runBugExperiment(bug: BugName, mode: SafetyMode, seconds = 4): Promise<BugOutcome> {
  const log = (line: string) => console.log(`  [${bug} ${mode}] ${line}`);
  const cluster = await ExperimentCluster.start({ replicas: 3, mode });
  const recorder = new HistoryRecorder({ model: "kv" });
  let run: SplitRun;
  try {
    await cluster.sup.stopReconciling(); // from here on the experiment drives every step itself
    // The schedule names nodes 1..5: it starts from voters 1, 2, 3 in slots 0, 1, 2.
    const members = cluster.nodes.map((n) => `${n.id}@${n.slot}`).join(", ");
    if (members !== "1@0, 2@1, 3@2") {
      throw new Error(`the schedule needs nodes 1, 2, 3 in slots 0, 1, 2 to start from, got ${members}`);
    }
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
      // Node 3 must have applied the change that adds 4 and 5 before it is cut off: only then does it
      // count them (as voters, unsafely) and campaign with their votes. The leader tells it the change
      // committed with its next append or heartbeat (a lone commit broadcast is held, commit_hold.ts),
      // so this waits for the change itself, not for a configuration index.
      await cluster.waitFor("node 3 to apply the change", async () => {
        const conf = (await cluster.status(3))?.conf as
          | { voters?: number[]; learners?: number[] }
          | undefined;
        const added = mode === "unsafe-early-vote" ? conf?.voters : conf?.learners;
        return [4, 5].every((id) => added?.includes(id));
      });
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

    run = await runSplit({
      bug,
      mode,
      seconds,
      recorder,
      note,
      minority: [1, 2],
      rest: [3, 4, 5],
      cluster: {
        clientUrl: (id) => cluster.node(id).clientUrl,
        endpoints: () => cluster.endpoints(),
        status: (id) => cluster.status(id),
        partition: (groups) => cluster.partition(groups),
        heal: () => cluster.heal(),
      },
    });
  } catch (e) {
    throw await cluster.failedWith(e); // the node logs are deleted with the cluster
  } finally {
    await cluster.stop();
  }
  return await judgeSplit(bug, mode, `${bug}-${mode}`, recorder, run, log);
}

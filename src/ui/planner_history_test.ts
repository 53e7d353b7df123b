import assert from "node:assert/strict";
import { parseSupervisorLog, readPlannerHistory } from "./planner_history.ts";

// Lines as src/local/supervisor.ts writes them (a scale from 3 to 4, with a node crash in between).
const LOG = `2026-12-04T11:46:26.562Z supervisor pid 26060, control API http://127.0.0.1:42465
2026-12-04T11:46:27.000Z [Idle] steady: 3 voters [1,2,3]
2026-12-04T11:46:30.000Z Idle -> AddLearners: starting node 4 (slot 3)
2026-12-04T11:46:30.050Z started node 4 in slot 3 (pid 300): http://127.0.0.1:1, peers at 127.0.0.1:2
2026-12-04T11:46:30.400Z [AddLearners] adding learners 4
2026-12-04T11:46:30.500Z AddLearners -> CatchUp: learners caught up, check 1/3
2026-12-04T11:46:30.800Z [CatchUp] learners caught up, check 2/3
2026-12-04T11:46:31.000Z node 2 (pid 200) exited with signal SIGKILL; restarting in 200 ms (see x.log)
2026-12-04T11:46:31.100Z CatchUp -> EnterJoint: entering joint configuration [1,2,3,4] && [1,2,3]
2026-12-04T11:46:31.150Z EnterJoint -> CommitNew: committing C_new [1,2,3,4]
2026-12-04T11:46:31.200Z CommitNew -> LeaveJoint -> Idle: steady: 4 voters [1,2,3,4]
a line cut short by a crash`;

Deno.test("the supervisor log becomes planner steps with timings, and process events", () => {
  const { steps, events } = parseSupervisorLog(LOG);
  assert.deepEqual(
    steps.map((s) => [s.phase, s.durationMs]),
    [
      ["Idle", 3000],
      ["AddLearners", 500],
      ["CatchUp", 600],
      ["EnterJoint", 50],
      ["CommitNew", 50],
      ["LeaveJoint", 0],
      ["Idle", undefined],
    ],
  );
  assert.deepEqual(steps[2].messages, ["learners caught up, check 1/3", "learners caught up, check 2/3"]);
  assert.deepEqual(steps.at(-1)!.messages, ["steady: 4 voters [1,2,3,4]"]);
  assert.deepEqual(events.map((e) => e.text.split(" ").slice(0, 2).join(" ")), [
    "supervisor pid",
    "started node",
    "node 2",
  ]);
});

Deno.test("only the end of a long log is read, and a missing log is an empty history", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.deepEqual(await readPlannerHistory(dir), { steps: [], events: [] });
    const filler = "2026-12-04T11:00:00.000Z [Idle] steady: 3 voters [1,2,3]\n".repeat(6000);
    await Deno.writeTextFile(`${dir}/supervisor.log`, filler + LOG);
    const { steps } = await readPlannerHistory(dir);
    assert.equal(steps.at(-1)!.phase, "Idle");
    assert.equal(steps.at(-2)!.phase, "LeaveJoint");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the supervisor's current log formats: a level after the time, and JSON lines", () => {
  const text = [
    "2026-12-04T11:46:27.000Z info  [Idle] steady: 3 voters [1,2,3]",
    "2026-12-04T11:46:30.000Z info  Idle -> AddLearners: starting node 4 (slot 3)",
    JSON.stringify({
      time: "2026-12-04T11:46:31.000Z",
      level: "info",
      message: "AddLearners -> CatchUp: learners 4",
    }),
  ].join("\n");
  const history = parseSupervisorLog(text);
  assert.deepEqual(history.steps.map((s) => s.phase), ["Idle", "AddLearners", "CatchUp"]);
  assert.equal(history.steps[1].durationMs, 1000);
});

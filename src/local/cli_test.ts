/**
 * `deno task local` as a person runs it: up, scale, down through the real CLI and a detached supervisor.
 * `scale` must print every planner step as the supervisor takes it (learners, catch-up, joint, leave),
 * not what a poll happens to catch; `up --log-format json` writes JSON lines.
 */
import assert from "node:assert/strict";
import { isAlive, readState } from "./state.ts";

const CLI = new URL("./cli.ts", import.meta.url).pathname;

async function local(args: string[], stateDir: string) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args, "--state-dir", stateDir],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(150_000),
  }).output();
  return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
}

Deno.test("local scale streams every planner step; up --log-format json logs JSON lines", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "raftkv-local-cli-test-" });
  try {
    const up = await local(["up", "--replicas", "1", "--auto-ports", "--log-format", "json"], stateDir);
    assert.equal(up.code, 0, up.out + up.err);
    const scale = await local(["scale", "3"], stateDir);
    assert.equal(scale.code, 0, scale.out + scale.err);
    // In order, each at least once: the path of a safe scale-up.
    let at = 0;
    for (const phase of ["AddLearners", "CatchUp", "EnterJoint", "LeaveJoint"]) {
      const found = scale.out.indexOf(phase, at);
      assert.ok(found >= 0, `no ${phase} step after position ${at} in:\n${scale.out}`);
      at = found;
    }
    assert.match(scale.out, /done in [\d.]+s/);
    // Every supervisor and node log line is one JSON object with the same keys.
    const supervisorLog = (await Deno.readTextFile(`${stateDir}/supervisor.log`)).trim().split("\n");
    const nodeLog = (await Deno.readTextFile(`${stateDir}/node-1.log`)).trim().split("\n");
    for (const line of [...supervisorLog, ...nodeLog]) {
      const entry = JSON.parse(line);
      assert.deepEqual(Object.keys(entry), ["time", "level", "component", "node", "term", "message"], line);
    }
    const nodeLine = nodeLog.map((l) => JSON.parse(l)).find((e) =>
      e.node === 1 && typeof e.term === "number"
    );
    assert.ok(nodeLine, `a node line names node 1 and its term:\n${nodeLog.slice(0, 5).join("\n")}`);
  } finally {
    const state = await readState(stateDir).catch(() => undefined);
    const down = await local(["down"], stateDir);
    // Whatever survived a failed down goes by pid.
    for (const pid of [state?.supervisor?.pid, ...(state?.nodes ?? []).map((n) => n.pid)]) {
      if (isAlive(pid)) Deno.kill(pid!, "SIGKILL");
    }
    assert.equal(down.code, 0, down.out + down.err);
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
});

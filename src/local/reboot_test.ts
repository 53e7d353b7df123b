/**
 * A stopped cluster can be started again from its state directory, through the CLI: after a
 * "reboot" (the supervisor and every node SIGKILLed), `local status` says what is dead and exits
 * non-zero, `local up` resumes the cluster with its data; `local stop` keeps the data and
 * `local start` resumes it; `local down` deletes it, saying so.
 */
import assert from "node:assert/strict";
import { KvClient } from "../client/mod.ts";
import { isAlive, readState } from "./state.ts";

const CLI = new URL("./cli.ts", import.meta.url).pathname;

async function local(...args: string[]): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: r.code, out: new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr) };
}

Deno.test({
  name: "local up resumes a cluster after a reboot; stop keeps the data, start resumes it, down deletes it",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const stateDir = await Deno.makeTempDir({ prefix: "raftkv-reboot-test-" });
    const seen = new Set<number>();
    const remember = async () => {
      const s = await readState(stateDir);
      for (const pid of [s?.supervisor?.pid, ...(s?.nodes ?? []).map((n) => n.pid)]) if (pid) seen.add(pid);
      return s;
    };
    const readAll = async () => {
      const s = (await remember())!;
      const kv = new KvClient({ endpoints: s.nodes.map((n) => n.clientUrl) });
      try {
        for (let i = 0; i < 20; i++) assert.equal((await kv.get(`k${i}`)).value, `v${i}`);
      } finally {
        await kv.close();
      }
    };
    try {
      const up = await local("up", "--state-dir", stateDir, "--auto-ports");
      assert.equal(up.code, 0, up.out);
      const state = (await remember())!;
      const kv = new KvClient({ endpoints: state.nodes.map((n) => n.clientUrl) });
      for (let i = 0; i < 20; i++) await kv.put(`k${i}`, `v${i}`);
      await kv.close();

      // The reboot: every process dies at once, nothing is shut down cleanly.
      for (const pid of [state.supervisor!.pid, ...state.nodes.map((n) => n.pid!)]) Deno.kill(pid, "SIGKILL");
      await new Promise((r) => setTimeout(r, 1500));
      const dead = await local("status", "--state-dir", stateDir);
      assert.equal(dead.code, 1, dead.out);
      assert.match(dead.out, /supervisor NOT running/);
      assert.match(dead.out, /NOT WHOLE/);
      assert.doesNotMatch(dead.out, /\brunning\s+-\s+http/, "no dead pid is shown as running");

      const resumed = await local("up", "--state-dir", stateDir);
      assert.equal(resumed.code, 0, resumed.out);
      assert.match(resumed.out, /resuming the local cluster .* data kept/);
      await readAll();
      const whole = await local("status", "--state-dir", stateDir);
      assert.equal(whole.code, 0, whole.out);
      assert.match(whole.out, /whole: every node is a healthy voter/);

      const stopped = await local("stop", "--state-dir", stateDir);
      assert.equal(stopped.code, 0, stopped.out);
      assert.match(stopped.out, /its data stays in/);
      const afterStop = (await remember())!;
      assert.equal(afterStop.supervisor, undefined);
      assert.ok(afterStop.nodes.every((n) => n.state === "stopped"));
      const started = await local("start", "--state-dir", stateDir);
      assert.equal(started.code, 0, started.out);
      await readAll();

      const down = await local("down", "--state-dir", stateDir);
      assert.equal(down.code, 0, down.out);
      assert.match(down.out, /removed .* with all its data/);
      await assert.rejects(Deno.stat(stateDir), Deno.errors.NotFound);
    } finally {
      for (const pid of seen) if (isAlive(pid)) Deno.kill(pid, "SIGKILL");
      await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 1500)); // killed processes are reaped by init
    const left = [...seen].filter((pid) => {
      try {
        return Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes(stateDir);
      } catch {
        return false;
      }
    });
    assert.deepEqual(left, [], "no process of the test is left");
  },
});

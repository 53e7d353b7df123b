import assert from "node:assert/strict";
import { measureLatencyFloor } from "./latency_floor.ts";

const CHILD = new URL("./latency_floor_child.ts", import.meta.url).pathname;

async function childrenRunning(): Promise<string[]> {
  const { stdout } = await new Deno.Command("ps", { args: ["-eo", "pid,args"], stdout: "piped" }).output();
  return new TextDecoder().decode(stdout).split("\n").filter((line) => line.includes(CHILD));
}

Deno.test("the latency floor: every part measured between real processes, then all of them stopped", async () => {
  const parentDir = await Deno.makeTempDir({ prefix: "raftkv-floor-test-" });
  try {
    const f = await measureLatencyFloor({ seconds: 0.3, parentDir });
    for (const part of [f.httpRoundTrip, f.peerRoundTrip, f.fdatasyncAlone, f.fdatasyncThreeAtOnce]) {
      assert.ok(part.count > 10 && part.p50Us > 0 && part.p50Us <= part.p99Us, JSON.stringify(f));
    }
    // Three writers together give three writers' samples.
    assert.ok(f.fdatasyncThreeAtOnce.count > f.fdatasyncAlone.count, JSON.stringify(f));
    const sum = f.httpRoundTrip.p50Us + f.peerRoundTrip.p50Us + f.fdatasyncThreeAtOnce.p50Us;
    assert.equal(f.writeFloorP50Ms, +(sum / 1000).toFixed(3));
    assert.deepEqual(await childrenRunning(), [], "every child process is stopped");
    assert.deepEqual(
      [...Deno.readDirSync(parentDir)],
      [],
      "the fdatasync files and their directory are removed",
    );
  } finally {
    await Deno.remove(parentDir, { recursive: true });
  }
});

Deno.test("the latency floor's child process refuses a role it does not know", async () => {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", CHILD, "fsync", "only-a-file"],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 2);
  assert.match(new TextDecoder().decode(stderr), /usage: latency_floor_child\.ts/);
});

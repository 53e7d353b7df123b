import assert from "node:assert/strict";
import { openQuietly, withTempDir } from "./test_support.ts";

const canSpawn = (await Deno.permissions.query({ name: "run" })).state === "granted";

Deno.test({
  name: "RaftStorage after SIGKILL: every acknowledged save is recovered",
  ignore: !canSpawn, // needs --allow-run (deno task test grants it)
  async fn() {
    await withTempDir(async (dir) => {
      for (let round = 0; round < 3; round++) {
        const child = new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "--allow-read",
            "--allow-write",
            "--allow-env",
            import.meta.resolve("./testdata/crash_writer.ts"),
            dir,
          ],
          stdout: "piped",
          stderr: "inherit",
        }).spawn();
        let acked = 0;
        const decoder = new TextDecoderStream();
        const lines = child.stdout.pipeThrough(decoder).getReader();
        let buffered = "";
        // Kill it mid-stream, once it has acknowledged a few hundred saves (bounded by a deadline).
        const deadline = performance.now() + 20_000;
        while (acked < 300 * (round + 1) && performance.now() < deadline) {
          const { value, done } = await lines.read();
          if (done) break;
          buffered += value;
          const complete = buffered.split("\n");
          buffered = complete.pop()!;
          for (const line of complete) acked = Math.max(acked, Number(line.slice("acked ".length)));
        }
        child.kill("SIGKILL");
        await child.status;
        await lines.cancel();
        assert.ok(acked > 0, "the child acknowledged nothing");
        const { storage, recovered } = await openQuietly(dir);
        const last = recovered.entries.at(-1)?.index ?? 0;
        assert.ok(last >= acked, `round ${round}: acknowledged ${acked}, recovered only up to ${last}`);
        assert.deepEqual(
          recovered.entries.map((e) => e.index),
          Array.from({ length: last }, (_, i) => i + 1),
        );
        await storage.close();
      }
    });
  },
});

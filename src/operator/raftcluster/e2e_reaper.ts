/**
 * The end-to-end tests' watchdog: `deno run -A e2e_reaper.ts <test PID> <watch file>`. While the test
 * process lives it does nothing; if the test process dies without having run its teardown (SIGKILL, or
 * `deno test`'s own exit on SIGINT, which runs no user code), it stops what the watch file names: the
 * processes by PID, then each localkube cluster by the PIDs in its state (stopCluster, which also
 * releases the real node). The test stops the watchdog (SIGTERM) once its own teardown has run.
 * It ignores SIGINT: a Ctrl-C in a terminal reaches the whole process group, and it must outlive it.
 * What it did goes to <watch file without .json>.log (the test's own output pipe is gone by then).
 */
import { stopCluster } from "../../localkube/cluster.ts";

export interface ReaperWatch {
  pids: number[];
  localkube: string[];
}

const [parentText, watchFile] = Deno.args;
const parent = Number(parentText);
if (!parent || !watchFile) {
  console.error("usage: e2e_reaper.ts <test PID> <watch file>");
  Deno.exit(2);
}
const logPath = watchFile.replace(/\.json$/, "") + ".log";
const log = (line: string) =>
  Deno.writeTextFileSync(logPath, `${new Date().toISOString()} ${line}\n`, { append: true });
const cmdline = (pid: number) => Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => undefined);
const parentCommand = await cmdline(parent);
let stopping = false;
Deno.addSignalListener("SIGINT", () => {});
Deno.addSignalListener("SIGTERM", () => {
  if (!stopping) Deno.exit(0);
});

while ((await cmdline(parent)) === parentCommand && parentCommand !== undefined) {
  await new Promise((r) => setTimeout(r, 500));
}
stopping = true;
const watch = JSON.parse(
  await Deno.readTextFile(watchFile).catch(() => '{"pids":[],"localkube":[]}'),
) as ReaperWatch;
log(`test process ${parent} ended without its teardown; stopping what it started: ${JSON.stringify(watch)}`);
for (const pid of watch.pids) {
  for (const signal of ["SIGCONT", "SIGKILL"] as const) {
    try {
      Deno.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
for (const dir of watch.localkube) {
  try {
    const state = JSON.parse(await Deno.readTextFile(`${dir}/localkube.json`));
    await stopCluster(state, log);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  } catch (e) {
    log(`could not stop localkube in ${dir}: ${(e as Error).message}`);
  }
}
log("done");
await Deno.remove(watchFile).catch(() => {});

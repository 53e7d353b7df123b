/**
 * Child process of restart_memory_test.ts: restarts a node's driver on the data directory given as
 * its argument (FileNodeStore + NodeDriver.start, what a restarted member does before it serves)
 * and prints, as one JSON line, how far its resident memory rose above what it was just before,
 * next to the size of the state it decoded and a digest of that state.
 */
import { NodeDriver } from "../node_driver.ts";
import { FileNodeStore } from "../file_node_store.ts";
import { quietHooks } from "../quiet_hooks.ts";
import type { KvStateMachine } from "../state_machine.ts";
import { createHash } from "node:crypto";
import { cpuUsage } from "node:process";

/** Order-independent digest of a state: its pairs (sorted by key), sessions, members, configuration. */
export function stateDigest(sm: KvStateMachine): string {
  const pairs = [...sm.data.entriesWithModIndex()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const hash = createHash("sha256");
  for (const pair of pairs) hash.update(JSON.stringify(pair));
  hash.update(JSON.stringify({
    sessions: sm.sessions.entries(),
    members: [...sm.members],
    confIndex: sm.confIndex,
    safetyMode: sm.safetyMode,
  }));
  return hash.digest("hex");
}

/** A field of /proc/self/status in bytes (VmRSS: now; VmHWM: the peak since the last reset). */
function statusBytes(field: "VmRSS" | "VmHWM"): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(Deno.readTextFileSync("/proc/self/status"));
  if (!match) throw new Error(`no ${field} in /proc/self/status`);
  return Number(match[1]) * 1024;
}

if (import.meta.main) {
  const dataDir = Deno.args[0];
  // Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0), so the peak read after
  // the restart is the restart's own. Where that is not allowed, the peak so far (start-up, well
  // below a restart's) stays in it: the rise is then overstated, never understated.
  try {
    Deno.writeTextFileSync("/proc/self/clear_refs", "5");
  } catch {
    // see above
  }
  const before = statusBytes("VmRSS");
  const started = performance.now();
  const cpuBefore = cpuUsage();
  const driver = await new Promise<NodeDriver>((resolve, reject) =>
    NodeDriver.start(
      {
        nodeId: 1,
        self: { peer: "127.0.0.1:1", client: "http://127.0.0.1:2" },
        bootstrap: false,
        safetyMode: "safe",
        electionTicks: 10,
        snapshotEntries: 0,
        retainEntries: 0,
        random: Math.random,
        newIncarnation: () => "unused",
        log: () => {},
      },
      new FileNodeStore({ dataDir, log: () => {} }),
      quietHooks((e) => reject(e)),
      (error, driver) => error ? reject(error) : resolve(driver!),
    )
  );
  const ms = performance.now() - started;
  const cpu = cpuUsage(cpuBefore);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const peak = statusBytes("VmHWM");
  const arena = driver.sm.data.arenaStats();
  console.log(JSON.stringify({
    rise: peak - before,
    ms,
    cpuMs,
    stateBytes: arena.allocatedBytes + arena.indexBytes,
    keys: driver.sm.data.size,
    digest: stateDigest(driver.sm),
  }));
  driver.halt();
  Deno.exit(0);
}

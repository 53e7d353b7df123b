/** Helpers of the multi-process disk-fault tests: a supervised cluster, wiping a node, whole-ness. */
import { type CreateClusterOptions, LocalSupervisor } from "./supervisor.ts";
import { isAlive, type LocalNode } from "./state.ts";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch {
      // not yet
    }
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export interface NodeStatusDoc {
  id: number;
  role: string;
  leader?: number;
  quarantined?: boolean;
  conf: { voters: number[]; learners: number[]; joint: boolean };
  diskAlarm?: { raised: boolean };
}

export async function nodeStatus(url: string): Promise<NodeStatusDoc | undefined> {
  try {
    const r = await fetch(`${url}/status`, { signal: AbortSignal.timeout(1000) });
    return r.ok ? await r.json() as NodeStatusDoc : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whole: `replicas` voters, not joint, every node answering as a non-quarantined member of that
 * configuration, and the supervisor idle with no replacement in flight.
 */
export async function isWhole(sup: LocalSupervisor, replicas: number): Promise<boolean> {
  const r = sup.state.reconfig;
  if (r.phase !== "Idle" || (r.replacing ?? []).length || sup.state.nodes.length !== replicas) return false;
  const statuses = await Promise.all(sup.state.nodes.map((n) => nodeStatus(n.clientUrl)));
  const leader = statuses.find((s) => s?.role === "leader");
  if (!leader || leader.conf.joint || leader.conf.voters.length !== replicas) return false;
  return statuses.every((s, i) =>
    s && !s.quarantined && s.id === sup.state.nodes[i].id && leader.conf.voters.includes(s.id)
  );
}

/** Loses a node's storage the way a dead disk does: SIGKILL, then its data directory is deleted
 * before the supervisor restarts it (it waits 200 ms). */
export async function wipeNode(node: LocalNode): Promise<void> {
  Deno.kill(node.pid!, "SIGKILL");
  await Deno.remove(node.dataDir, { recursive: true });
}

export async function leaderId(sup: LocalSupervisor): Promise<number> {
  return await until("a leader", async () => {
    for (const n of sup.state.nodes) if ((await nodeStatus(n.clientUrl))?.role === "leader") return n.id;
  });
}

/** A supervised cluster in a temporary (or given) state directory; every process stopped after. */
export async function withSupervisedCluster(
  options: Partial<CreateClusterOptions> & { stateDir?: string },
  fn: (sup: LocalSupervisor) => Promise<void>,
): Promise<void> {
  const stateDir = options.stateDir ?? await Deno.makeTempDir({ prefix: "raftkv-disk-test-" });
  const sup = await LocalSupervisor.create(stateDir, {
    replicas: 3,
    safetyMode: "safe",
    ports: "auto",
    faultInjection: false,
    ...options,
  }, (line) => {
    // RAFTKV_TEST_LOG=1 shows the supervisor's log (each planner step) while a test runs.
    if (Deno.env.get("RAFTKV_TEST_LOG")) console.log(`${new Date().toISOString().slice(11, 23)} ${line}`);
  });
  const seen = new Set<number>();
  const timer = setInterval(() => sup.pids().forEach((p) => seen.add(p)), 100);
  sup.start();
  try {
    await until("the cluster to settle", () => sup.settled(), 60_000);
    await fn(sup);
  } finally {
    clearInterval(timer);
    sup.pids().forEach((p) => seen.add(p));
    await sup.stop();
    if (!options.stateDir) await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
  const left = [...seen].filter((pid) => isAlive(pid));
  if (left.length) throw new Error(`processes left running: ${left}`);
}

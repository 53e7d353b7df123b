/**
 * The local cluster's state file (<state dir>/cluster.json): tokens, ports per slot, the
 * processes, and the reconfiguration status the planner persists between steps. The CLI client
 * reads it too (nodes[].clientUrl, adminToken) to find the cluster.
 */
import type { SafetyMode } from "../raft/mod.ts";
import type { ReconfigStatus } from "../reconfig/types.ts";
import { atomicWriteFile } from "../storage/atomic_write.ts";
import type { LocalSecurity } from "../security/local_pki.ts";

export interface LocalNode {
  slot: number;
  id: number;
  clientUrl: string;
  peerAddress: string;
  dataDir: string;
  logFile: string;
  pid?: number;
  state: "running" | "paused" | "restarting" | "stopped";
  restarts: number;
}

export interface LocalClusterState {
  version: 1;
  clusterId: string;
  adminToken: string;
  peerToken: string;
  safetyMode: SafetyMode;
  faultInjection: boolean;
  tickMs: number;
  snapshotEntries: number;
  retainEntries: number;
  /** --disk-reserve of every node (NOSPACE alarm); absent in state files written before it existed. */
  diskReserve?: string;
  desiredReplicas: number;
  /** Slot n listens on base + n, or on free ports picked once per slot ("auto"). */
  ports: "auto" | { client: number; peer: number };
  slotPorts: Record<string, { client: number; peer: number }>;
  nodes: LocalNode[];
  reconfig: ReconfigStatus;
  supervisor?: { pid: number; controlUrl: string };
  /** Present when the cluster was created with --tls: its CA, certificates and client tokens. */
  security?: LocalSecurity;
}

export const STATE_FILE = "cluster.json";

/** <repo>/.data/local: the default state directory (gitignored). */
export function defaultStateDir(): string {
  return new URL("../../.data/local", import.meta.url).pathname;
}

export async function readState(stateDir: string): Promise<LocalClusterState | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(`${stateDir}/${STATE_FILE}`)) as LocalClusterState;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new Error(
      `cannot read ${stateDir}/${STATE_FILE}: ${(e as Error).message} (remove the directory to start over)`,
    );
  }
}

export async function writeState(stateDir: string, state: LocalClusterState): Promise<void> {
  await Deno.mkdir(stateDir, { recursive: true });
  await atomicWriteFile(
    stateDir,
    STATE_FILE,
    new TextEncoder().encode(JSON.stringify(state, null, 2) + "\n"),
    { mode: 0o600 }, // it holds the supervisor's and the clients' tokens
  );
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    Deno.kill(pid, "SIGCONT"); // harmless probe: errors if there is no such process
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether `pid` is still the process this state file recorded, and not a stranger that reused
 * the pid after a reboot: its command line must mention `marker` (a node's data directory, or
 * the state directory for the supervisor). Where /proc is missing, a live pid has to do.
 */
export function isOurProcess(pid: number | undefined, marker: string): boolean {
  if (!isAlive(pid)) return false;
  try {
    const cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
    return cmdline.includes(marker);
  } catch (e) {
    return !(e instanceof Deno.errors.NotFound) || !isProcMounted();
  }
}

function isProcMounted(): boolean {
  try {
    Deno.statSync("/proc/self");
    return true;
  } catch {
    return false;
  }
}

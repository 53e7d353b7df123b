/**
 * What a real node created outside its state dir, recorded before it is created so that `down` (or
 * the next `up` after a crash) removes exactly that, by name and PID.
 */
import { exists } from "./host.ts";

export interface RealNodeState {
  containerdAddress: string;
  /** The pod bridge, when we made it. */
  bridge?: string;
  /** sysctl values before we changed them. */
  sysctls: Record<string, string>;
  /** iptables chains (`<tool> <table> <chain>`) that existed before the node started. */
  chainsBefore: string[];
  /** Host paths the node's programs create with fixed names, which did not exist before. */
  createdPaths: string[];
  /** Host paths that were not mount points before (containerd bind-mounts /run/netns onto itself). */
  notMountedBefore: string[];
}

/** One real node per machine: its ports, cgroups and iptables chains are the machine's. */
export const MACHINE_CLAIM = "/run/localkube-node.json";

export interface MachineClaim {
  stateDir: string;
  pid: number;
}

export async function readClaim(): Promise<MachineClaim | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(MACHINE_CLAIM)) as MachineClaim;
  } catch {
    return undefined;
  }
}

/** The containerd socket of the CLI's real node (`<repo>/.localkube`), if one is up. */
export async function localNodeContainerd(repoRoot: string): Promise<string | undefined> {
  try {
    const state = JSON.parse(await Deno.readTextFile(`${repoRoot}/.localkube/localkube.json`)) as {
      node?: RealNodeState;
    };
    const address = state.node?.containerdAddress;
    return address && await exists(address) ? address : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The host-level pieces a real node touches outside its state dir, each undone by name: the pod
 * bridge, sysctls, iptables chains, mounts, cgroups, network namespaces. Everything goes through
 * the usual tools (ip, iptables, sysctl, umount): Deno lets only --allow-all programs read /proc.
 */
import { capture } from "../../images/run_command.ts";

export async function tryCapture(command: string[]): Promise<string | undefined> {
  try {
    return await capture(command);
  } catch {
    return undefined;
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

// ---- the pod bridge ----

export async function linkExists(name: string): Promise<boolean> {
  return (await tryCapture(["ip", "-o", "link", "show", "dev", name])) !== undefined;
}

/** A bridge with the gateway address: made before anything listens on that address. */
export async function createBridge(name: string, gatewayCidr: string): Promise<void> {
  await capture(["ip", "link", "add", name, "type", "bridge"]);
  await capture(["ip", "addr", "add", gatewayCidr, "dev", name]);
  await capture(["ip", "link", "set", name, "up"]);
}

export async function deleteLink(name: string): Promise<void> {
  if (await linkExists(name)) await capture(["ip", "link", "delete", name]);
}

// ---- sysctls ----

export async function readSysctl(key: string): Promise<string | undefined> {
  return (await tryCapture(["sysctl", "-n", key]))?.trim();
}

export async function writeSysctl(key: string, value: string): Promise<void> {
  await capture(["sysctl", "-q", "-w", `${key}=${value}`]);
}

// ---- iptables chains ----

export const IPTABLES = ["iptables", "ip6tables"] as const;
export const TABLES = ["filter", "nat", "mangle"] as const;

/** Every chain in every table, as `<tool> <table> <chain>`. */
export async function iptablesChains(): Promise<Set<string>> {
  const chains = new Set<string>();
  for (const tool of IPTABLES) {
    for (const table of TABLES) {
      const rules = await tryCapture([tool, "-w", "5", "-t", table, "-S"]) ?? "";
      for (const line of rules.split("\n")) {
        const match = line.match(/^-N (\S+)$/);
        if (match) chains.add(`${tool} ${table} ${match[1]}`);
      }
    }
  }
  return chains;
}

/**
 * Deletes the chains named in `chains` (`<tool> <table> <chain>`): first every rule anywhere in the
 * same table that jumps to one of them, then their rules, then the chains.
 */
export async function deleteChains(chains: Iterable<string>): Promise<string[]> {
  const byTable = new Map<string, Set<string>>();
  for (const entry of chains) {
    const [tool, table, chain] = entry.split(" ");
    const key = `${tool} ${table}`;
    byTable.set(key, (byTable.get(key) ?? new Set()).add(chain));
  }
  const problems: string[] = [];
  for (const [key, names] of byTable) {
    const [tool, table] = key.split(" ");
    const rules = await tryCapture([tool, "-w", "5", "-t", table, "-S"]) ?? "";
    for (const line of rules.split("\n")) {
      const jump = line.match(/^-A (\S+) .*-j (\S+)/);
      if (!jump || !names.has(jump[2]) || names.has(jump[1])) continue;
      const rule = splitRule(line.slice(3));
      await capture([tool, "-w", "5", "-t", table, "-D", ...rule]).catch((e) => problems.push(e.message));
    }
    for (const chain of names) await tryCapture([tool, "-w", "5", "-t", table, "-F", chain]);
    for (const chain of names) {
      await capture([tool, "-w", "5", "-t", table, "-X", chain]).catch((e) => problems.push(e.message));
    }
  }
  return problems;
}

/** `iptables -S` quotes arguments with spaces (comments): split like a shell would. */
export function splitRule(rule: string): string[] {
  const parts: string[] = [];
  for (const match of rule.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    parts.push(match[1] !== undefined ? match[1].replace(/\\(.)/g, "$1") : match[2]);
  }
  return parts;
}

// ---- mounts ----

/** Mount points at or under `dir`, deepest first. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const table = await tryCapture(["findmnt", "--list", "--noheadings", "--output", "TARGET"]) ?? "";
  const prefix = dir.replace(/\/$/, "");
  return table.split("\n").map((l) => l.trim()).filter((target) =>
    target === prefix || target.startsWith(prefix + "/")
  ).sort((a, b) => b.length - a.length);
}

export async function isMountPoint(path: string): Promise<boolean> {
  return (await tryCapture(["findmnt", "--noheadings", "--mountpoint", path])) !== undefined;
}

/** Unmounts everything at or under `dir` (lazily when busy); returns what could not be unmounted. */
export async function unmountUnder(dir: string): Promise<string[]> {
  const problems: string[] = [];
  // A bind mount may be stacked several times on one path: repeat while anything is left.
  for (let round = 0; round < 5; round++) {
    const mounts = await mountsUnder(dir);
    if (mounts.length === 0) return [];
    for (const target of mounts) {
      if (await tryCapture(["umount", target]) === undefined) await tryCapture(["umount", "--lazy", target]);
    }
  }
  for (const target of await mountsUnder(dir)) problems.push(`still mounted: ${target}`);
  return problems;
}

// ---- cgroups (v1: one hierarchy per controller; v2: one) ----

/** `/sys/fs/cgroup/<hierarchy>/<name>` for every hierarchy that has it (v2: `/sys/fs/cgroup/<name>`). */
export async function cgroupDirs(name: string): Promise<string[]> {
  const out = await tryCapture([
    "find",
    "/sys/fs/cgroup",
    "-mindepth",
    "1",
    "-maxdepth",
    "2",
    "-type",
    "d",
    "-name",
    name,
  ]);
  return (out ?? "").split("\n").filter(Boolean);
}

/** Removes a cgroup tree that holds no more processes, children first (rmdir: its files are not real). */
export async function removeCgroupTree(dir: string): Promise<string[]> {
  try {
    await capture(["find", dir, "-depth", "-type", "d", "-exec", "rmdir", "{}", "+"]);
    return [];
  } catch (e) {
    return [`cgroup ${dir}: ${(e as Error).message}`];
  }
}

// ---- processes ----

/** PIDs of processes whose command line contains `needle` (e.g. our containerd socket path). */
export async function pidsWithArgument(needle: string): Promise<number[]> {
  const out = await capture(["ps", "-eo", "pid=,args="]);
  return out.split("\n").flatMap((line) => {
    const match = line.trim().match(/^(\d+)\s+(.*)$/);
    return match && match[2].includes(needle) && !match[2].startsWith("ps ") ? [Number(match[1])] : [];
  });
}

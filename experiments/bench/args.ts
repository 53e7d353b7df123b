/**
 * Flag helpers shared by the benchmarks: a bad flag is a UsageError (main.ts prints one line and
 * a `--help` hint, exit 2) and changes nothing; `--help` prints the benchmark's usage.
 */
import { ETCD_INSTALL_HINT, etcdVersion } from "../lib/etcd_cluster.ts";
import { UsageError } from "../../src/cli/args.ts";

export { UsageError };

/** Runs a parseArgs call: its errors become UsageErrors, and `--help` prints `usage` and exits. */
export function benchUsage<T extends { values: { help?: boolean } }>(usage: string, parse: () => T): T {
  let parsed: T;
  try {
    parsed = parse();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (parsed.values.help) {
    console.log(`usage: ${usage}`);
    Deno.exit(0);
  }
  return parsed;
}

export function parsePositive(flag: string, text: string): number {
  const n = Number(text);
  if (!(n > 0) || !Number.isFinite(n)) throw new UsageError(`${flag} needs a positive number, got "${text}"`);
  return n;
}

export function parseList(flag: string, text: string): number[] {
  const list = text.split(",").map((t) => parsePositive(flag, t.trim()));
  if (list.some((n) => !Number.isInteger(n))) {
    throw new UsageError(`${flag} takes whole numbers, got "${text}"`);
  }
  return list;
}

/** `--compare etcd`: true when asked for and etcd is installed; says how to install it otherwise. */
export async function compareEtcd(value: string | undefined): Promise<boolean> {
  if (value === undefined) return false;
  if (value !== "etcd") {
    throw new UsageError(`--compare takes "etcd" (the only system compared), got "${value}"`);
  }
  const version = await etcdVersion();
  if (!version) {
    console.error(`--compare etcd: ${ETCD_INSTALL_HINT}`);
    Deno.exit(1);
  }
  console.log(`comparing with etcd ${version} (${Deno.env.get("ETCD_BIN") ?? "etcd"} on PATH)`);
  return true;
}

/** Whether `path` is an existing directory (for a --dir flag). */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

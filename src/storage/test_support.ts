import type { Entry } from "../raft/types.ts";
import { RaftStorage, type RaftStorageOptions } from "./raft_storage.ts";
import { Rng } from "../sim/rng.ts";

/** Helpers shared by this folder's tests. */

export function makeEntries(first: number, last: number, term: number, dataBytes = 100): Entry[] {
  const entries: Entry[] = [];
  for (let index = first; index <= last; index++) {
    entries.push({ term, index, type: "normal", data: new Uint8Array(dataBytes).fill(index % 251) });
  }
  return entries;
}

/** A deterministic PRNG (the simulator's), so that a failing fuzz case can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "raft-storage-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Open, collecting recovery's log lines instead of printing them. */
export async function openQuietly(dir: string, options: RaftStorageOptions = {}) {
  const lines: string[] = [];
  const opened = await RaftStorage.open(dir, { ...options, log: (line) => lines.push(line) });
  return { ...opened, lines };
}

export async function segmentFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.startsWith("wal-")) names.push(e.name);
  return names.sort();
}

export async function snapshotFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.startsWith("snap-")) names.push(e.name);
  return names.sort();
}

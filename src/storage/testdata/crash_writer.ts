/**
 * Child process of raft_storage_crash_test.ts: saves entries with 8 concurrent writers into the
 * directory given as its argument and prints "acked <index>" once each save has resolved, until
 * it is killed.
 */
import { RaftStorage } from "../raft_storage.ts";

const { storage, recovered } = await RaftStorage.open(Deno.args[0], { segmentBytes: 64 * 1024 });
let nextIndex = (recovered.entries.at(-1)?.index ?? 0) + 1;
const data = new Uint8Array(100).fill(1);
const encoder = new TextEncoder();
async function writer(): Promise<void> {
  while (true) {
    const index = nextIndex++;
    await storage.save([{ term: 1, index, type: "normal", data }], { term: 1, vote: 1, commit: index - 1 });
    await Deno.stdout.write(encoder.encode(`acked ${index}\n`));
  }
}
await Promise.all(Array.from({ length: 8 }, writer));

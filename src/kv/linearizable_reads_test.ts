import assert from "node:assert/strict";
import { LinearizableReads } from "./linearizable_reads.ts";
import { RetryableError } from "./errors.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Ticks the reads every 5 ms, as the driver does on its Raft tick. */
async function withTicks<T>(reads: LinearizableReads, body: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => reads.onTick(), 5);
  try {
    return await body();
  } finally {
    clearInterval(timer);
  }
}

Deno.test("a read whose read index this node never applies fails at its deadline, saying how far it got", async () => {
  const contexts: string[] = [];
  const reads = new LinearizableReads("1", (ctx) => contexts.push(ctx), () => 7, 20, 80);
  await withTicks(reads, async () => {
    const t0 = performance.now();
    const read = reads.wait();
    reads.onReadState({ index: 42, context: contexts[0] });
    await assert.rejects(read, (e: Error) => {
      assert.ok(e instanceof RetryableError);
      assert.match(e.message, /applied index 7 but the read needs 42/);
      return true;
    });
    const waited = performance.now() - t0;
    assert.ok(waited >= 75 && waited < 1000, `failed after ${waited} ms`);
  });
});

Deno.test("a read index that is never answered fails at the deadline, not never", async () => {
  const reads = new LinearizableReads("1", () => {}, () => 0, 20, 80);
  await withTicks(reads, async () => {
    await assert.rejects(reads.wait(), RetryableError);
  });
});

Deno.test("a read served before its deadline resolves, and the deadline then changes nothing", async () => {
  let applied = 3;
  const contexts: string[] = [];
  const reads = new LinearizableReads("1", (ctx) => contexts.push(ctx), () => applied, 20, 80);
  await withTicks(reads, async () => {
    const read = reads.wait();
    reads.onReadState({ index: 5, context: contexts[0] });
    applied = 5;
    reads.onApplied();
    await read;
    await sleep(120); // ticks past the deadline must not touch a settled read
  });
});

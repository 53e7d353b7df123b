/**
 * Checks partitions on worker threads: partitions are independent, so with free cores they can run side
 * by side. Not the default: `deno task bench check` on this project's shared 2-core machines found no
 * reliable gain. In three full runs, 1M ops over 10 keys took 3.2-3.9 s (2 clients) and 5.0-7.2 s (64
 * clients) on one thread, 2.8-5.3 s and 4.3-9.3 s on 2 workers; at 100k ops, and over 100 keys, the
 * workers were slower in every run: copying the operations to a worker costs about as much as checking
 * small keys. Pass `workers` (`--workers`) where cores are free.
 */
import { checkPartitionBatch, type PartitionOutcome, type PartitionTask } from "./check_partitions.ts";
import type { Model } from "./model.ts";
import type { SearchLimits } from "./wgl.ts";

export interface PartitionBatch {
  modelName: string;
  limits: SearchLimits;
  /** Set to 1 by whoever finds a violation first; shared by all workers. */
  stop: Int32Array;
  partitions: PartitionTask[];
}

export type WorkerMessage = { outcome: PartitionOutcome } | { batchDone: true };

/** Operations per message: small enough to balance the load, big enough to amortize a message. */
const BATCH_OPS = 20_000;

/**
 * Checks the tasks on this thread (workerCount 0) or on worker threads; calls onDone per partition.
 * Returns how many worker threads it started: none when the history fits in one batch (BATCH_OPS), since
 * one batch runs on one thread anyway and starting a worker costs tens of milliseconds, more than checking
 * a small history.
 */
export async function checkPartitions(
  tasks: PartitionTask[],
  model: Model,
  limits: SearchLimits,
  workerCount: number,
  onDone: (outcome: PartitionOutcome) => void,
): Promise<number> {
  const groups = workerCount === 0 ? [] : makeBatches(tasks);
  if (groups.length <= 1) {
    checkPartitionBatch(tasks, model, limits, new Int32Array(1), onDone);
    return 0;
  }
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const count = Math.min(workerCount, groups.length);
  // The workers run side by side: each gets its share of the memory budget.
  const share = { ...limits, memoryBudgetBytes: limits.memoryBudgetBytes / count };
  const batches = groups.map((partitions) => ({ modelName: model.name, limits: share, stop, partitions }));
  const workers = Array.from(
    { length: count },
    () => new Worker(new URL("./partition_worker.ts", import.meta.url).href, { type: "module" }),
  );
  let nextBatch = 0;
  try {
    await Promise.all(workers.map(async (worker) => {
      while (nextBatch < batches.length) await runBatch(worker, batches[nextBatch++], onDone);
    }));
  } finally {
    for (const worker of workers) worker.terminate();
  }
  return count;
}

/** Biggest partitions first, so that no worker starts a big one last while the others sit idle. */
function makeBatches(tasks: PartitionTask[]): PartitionTask[][] {
  const bySize = [...tasks].sort((a, b) => b.operations.length - a.operations.length);
  const batches: PartitionTask[][] = [];
  let size = Infinity;
  for (const task of bySize) {
    if (size + task.operations.length > BATCH_OPS) {
      batches.push([]);
      size = 0;
    }
    batches[batches.length - 1].push(task);
    size += task.operations.length;
  }
  return batches;
}

function runBatch(
  worker: Worker,
  batch: PartitionBatch,
  onDone: (outcome: PartitionOutcome) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
      if ("outcome" in event.data) onDone(event.data.outcome);
      else resolve();
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      reject(new Error(`a checker worker failed: ${event.message}`));
    };
    worker.postMessage(batch);
  });
}

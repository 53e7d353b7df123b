/**
 * Checks partitions on worker threads. Partitions are independent, so with several cores the big ones run
 * side by side. Copying operations to a worker costs time too, so small histories stay on one thread.
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

/**
 * Measured with `deno task bench check` and paired reruns on this project's shared 2-core machines: on
 * 1M-op histories over 10 keys (100k ops per key, where the search has real work) 2 workers took
 * 4.3-6.8 s against 6.9-9.0 s on one thread in three of four pairs (and lost one pair, 9.3 s against
 * 7.2 s, under load from other processes); at 100k ops, or over 100 or 1000 keys, they were never
 * faster: copying the operations to a worker costs about as much as checking many small keys. So
 * workers are used only for big histories with big keys.
 */
const WORKER_THRESHOLD_OPS = 500_000;
const WORKER_THRESHOLD_OPS_PER_KEY = 20_000;
/** Operations per message: small enough to balance the load, big enough to amortize a message. */
const BATCH_OPS = 20_000;
const MAX_WORKERS = 8;

export function shouldUseWorkers(operationCount: number, partitionCount: number): boolean {
  return operationCount >= WORKER_THRESHOLD_OPS &&
    operationCount / partitionCount >= WORKER_THRESHOLD_OPS_PER_KEY &&
    partitionCount >= 2 && navigator.hardwareConcurrency >= 2;
}

/** Checks the tasks on this thread (workerCount 0) or on worker threads; calls onDone per partition. */
export async function checkPartitions(
  tasks: PartitionTask[],
  model: Model,
  limits: SearchLimits,
  workerCount: number,
  onDone: (outcome: PartitionOutcome) => void,
): Promise<void> {
  if (workerCount === 0) {
    checkPartitionBatch(tasks, model, limits, new Int32Array(1), onDone);
    return;
  }
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const groups = makeBatches(tasks);
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
}

export function defaultWorkerCount(): number {
  return Math.min(navigator.hardwareConcurrency, MAX_WORKERS);
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

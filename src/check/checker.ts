/**
 * Checks a whole history: validates it against the model, splits it into independent partitions (one per
 * key: P-compositionality), searches each one (wgl.ts), in worker threads when that pays off, and
 * combines the verdicts: one non-linearizable partition makes the history non-linearizable; otherwise
 * any partition left unknown (time or memory budget) makes it unknown, never linearizable.
 */
import type { Model } from "./model.ts";
import { describeOperation, type History, type Operation } from "./operation.ts";
import { checkPartitions } from "./worker_pool.ts";
import type { SearchLimits, SearchResult, Verdict } from "./wgl.ts";

export type { Verdict } from "./wgl.ts";

export interface CheckOptions {
  model: Model;
  /** Wall-clock budget for the whole check; when it runs out the verdict is "unknown". Default 60 s. */
  timeoutMs?: number;
  /** Memory bound for the searches' memo tables (all partitions of one thread together); past it: "unknown". */
  memoryBudgetBytes?: number;
  /** Worker threads; default 0: all in this thread (see worker_pool.ts for why). */
  workers?: number;
  /** Called after each partition is done (for progress output on long runs). */
  onProgress?: (done: number, total: number, last: PartitionResult) => void;
}

export interface PartitionResult extends SearchResult {
  key: string;
  /** The operations of this partition (unknown-outcome reads among them, although they constrain nothing). */
  operations: Operation[];
  elapsedMs: number;
}

export interface CheckResult {
  verdict: Verdict;
  /** Every partition, ordered by key. */
  partitions: PartitionResult[];
  /** Not linearizable: the smallest failing partition. */
  counterexample?: PartitionResult;
  operationCount: number;
  /** Unknown-outcome reads: they constrain nothing, so the search leaves them out. */
  droppedUnknownReads: number;
  elapsedMs: number;
  /** Worker threads used: 0 when `workers` was 0 or the history was too small to share out. */
  workers: number;
}

export class CheckInputError extends Error {}

export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_MEMORY_BUDGET_BYTES = 2 * 1024 ** 3;

export async function checkHistory(history: History, options: CheckOptions): Promise<CheckResult> {
  const started = performance.now();
  const { model } = options;
  validate(history.operations, model);
  const groups = new Map<string, Operation[]>();
  let droppedUnknownReads = 0;
  for (const op of history.operations) {
    if (op.status === "unknown" && model.isReadOnly(op)) droppedUnknownReads++;
    const key = model.partitionKey(op);
    let group = groups.get(key);
    if (!group) groups.set(key, group = []);
    group.push(op);
  }
  const limits: SearchLimits = {
    deadline: Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    memoryBudgetBytes: options.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET_BYTES,
  };
  const tasks = [...groups].map(([key, operations]) => ({ key, operations }));
  const partitions: PartitionResult[] = [];
  const workers = await checkPartitions(
    tasks,
    model,
    limits,
    options.workers ?? 0,
    ({ key, search, elapsedMs }) => {
      const result = { ...search, key, operations: groups.get(key)!, elapsedMs };
      partitions.push(result);
      options.onProgress?.(partitions.length, tasks.length, result);
    },
  );
  partitions.sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

  const failing = partitions.filter((p) => p.verdict === "not linearizable");
  const verdict: Verdict = failing.length > 0
    ? "not linearizable"
    : partitions.some((p) => p.verdict === "unknown")
    ? "unknown"
    : "linearizable";
  const result: CheckResult = {
    verdict,
    partitions,
    operationCount: history.operations.length,
    droppedUnknownReads,
    elapsedMs: performance.now() - started,
    workers,
  };
  if (failing.length > 0) {
    result.counterexample = failing.reduce((a, b) => b.operations.length < a.operations.length ? b : a);
  }
  return result;
}

function validate(operations: Operation[], model: Model): void {
  const problems: string[] = [];
  for (const op of operations) {
    const problem = model.validate(op);
    if (problem) problems.push(`operation ${op.id} ${describeOperation(op)}: ${problem}`);
    if (problems.length === 5) break;
  }
  if (problems.length > 0) {
    throw new CheckInputError(
      `the history does not fit the ${model.name} model (is --model right?):\n  ${problems.join("\n  ")}`,
    );
  }
}

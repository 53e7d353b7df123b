/**
 * Schedules the searches of a set of partitions on one thread (the main thread, or one worker).
 *
 * Partitions take turns: round r lets every unfinished search run for FIRST_SLICE * 2^r steps. Most
 * partitions finish in the first round; a hard one cannot starve the others, so the small failing keys
 * (the best evidence) are found even when a big key would eat the whole budget. Within a round the
 * partitions go smallest first. Once a violation is known the verdict is settled: the rest of that round
 * runs only the partitions as small as the failing one (a smaller failing key would be better evidence;
 * a bigger one would not), and the rounds after it stop (the `stop` flag, shared between workers). The
 * memo tables of the searches still running share one memory budget: past it the biggest is stopped.
 */
import type { Model } from "./model.ts";
import type { Operation } from "./operation.ts";
import { memoryReason, PartitionSearch, type SearchLimits, type SearchResult } from "./wgl.ts";

export interface PartitionTask {
  key: string;
  operations: Operation[];
}

export interface PartitionOutcome {
  key: string;
  search: SearchResult;
  elapsedMs: number;
}

/**
 * Small first slices: a failing key is usually cheap to prove (a few thousand steps), and once one is
 * known no other key needs checking. With 200k-step first slices every key of c50-bad ran 200k steps before
 * the stop flag was even looked at (1.1M steps, 0.45 s, where 14k would do).
 */
const FIRST_SLICE = 2_000;
const MAX_SLICE = 1 << 26;

export function checkPartitionBatch(
  tasks: PartitionTask[],
  model: Model,
  limits: SearchLimits,
  stop: Int32Array,
  onDone: (outcome: PartitionOutcome) => void,
): void {
  // Smallest first (then by key, as the evidence is chosen): see the top of this file.
  let pending: Running[] = [...tasks]
    .sort((a, b) => a.operations.length - b.operations.length || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((task) => ({ task, elapsedMs: 0, done: false }));
  /** The searches started and not finished: their memo tables are alive. */
  const alive = new Set<Running>();
  /** Operations of the smallest partition this batch found not linearizable. */
  let smallestFailing = Infinity;
  const finish = (p: Running, search: SearchResult) => {
    p.done = true;
    alive.delete(p);
    if (search.verdict === "not linearizable") {
      Atomics.store(stop, 0, 1);
      smallestFailing = Math.min(smallestFailing, p.task.operations.length);
    }
    onDone({ key: p.task.key, search, elapsedMs: p.elapsedMs });
  };
  for (let round = 0; pending.length > 0; round++) {
    const slice = Math.min(FIRST_SLICE * 2 ** round, MAX_SLICE);
    // The flag is read once a round: the round that finds a violation still gives every key as small as the
    // failing one the same slice, so the smallest key that fails as cheaply is the evidence.
    const settled = Atomics.load(stop, 0) !== 0;
    for (const p of pending) {
      if (p.done) continue;
      const started = performance.now();
      let result: SearchResult | undefined;
      if (settled || p.task.operations.length > smallestFailing) {
        result = p.search?.abandon(STOPPED) ?? stopped();
      } else if (!p.search && Date.now() > limits.deadline) {
        result = notStarted();
      } else {
        p.search ??= new PartitionSearch(p.task.operations, model, limits);
        alive.add(p);
        result = p.search.run(slice);
      }
      p.elapsedMs += performance.now() - started;
      if (result) finish(p, result);
      else keepWithinBudget(alive, limits, finish);
    }
    pending = pending.filter((p) => !p.done);
  }
}

interface Running {
  task: PartitionTask;
  search?: PartitionSearch;
  elapsedMs: number;
  done: boolean;
}

/** Stops the biggest searches until the memo tables of those left fit in the memory budget. */
function keepWithinBudget(
  alive: Set<Running>,
  limits: SearchLimits,
  finish: (p: Running, search: SearchResult) => void,
): void {
  let total = 0;
  for (const p of alive) total += p.search!.cacheBytes;
  while (total > limits.memoryBudgetBytes && alive.size > 0) {
    const biggest = [...alive].reduce((a, b) => b.search!.cacheBytes > a.search!.cacheBytes ? b : a);
    total -= biggest.search!.cacheBytes;
    finish(biggest, biggest.search!.abandon(memoryReason(limits)));
  }
}

const STOPPED = "stopped: another key already shows a violation";

/** The result for a partition not started because another key already shows a violation. */
function stopped(): SearchResult {
  return { ...notStarted(), reason: STOPPED };
}

/** The result for a partition the budget ran out before. */
export function notStarted(): SearchResult {
  return {
    verdict: "unknown",
    reason: "not checked: the time budget was spent on other keys",
    linearization: [],
    steps: 0,
    configs: 0,
    cacheBytes: 0,
  };
}

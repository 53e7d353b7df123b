/**
 * Schedules the searches of a set of partitions on one thread (the main thread, or one worker).
 *
 * Partitions take turns: round r lets every unfinished search run for FIRST_SLICE * 2^r steps. Most
 * partitions finish in the first round; a hard one cannot starve the others, so the small failing keys
 * (the best evidence) are found even when a big key would eat the whole budget. Once a violation is
 * known the verdict is settled, so later rounds stop (the `stop` flag, shared between workers). The
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

const FIRST_SLICE = 200_000;
const MAX_SLICE = 1 << 26;

export function checkPartitionBatch(
  tasks: PartitionTask[],
  model: Model,
  limits: SearchLimits,
  stop: Int32Array,
  onDone: (outcome: PartitionOutcome) => void,
): void {
  let pending: Running[] = tasks.map((task) => ({ task, elapsedMs: 0 }));
  for (let round = 0; pending.length > 0; round++) {
    const slice = Math.min(FIRST_SLICE * 2 ** round, MAX_SLICE);
    const unfinished: Running[] = [];
    for (const p of pending) {
      const started = performance.now();
      let result: SearchResult | undefined;
      if (round > 0 && Atomics.load(stop, 0) !== 0) {
        result = p.search!.abandon("stopped: another key already shows a violation");
      } else if (!p.search && Date.now() > limits.deadline) {
        result = notStarted();
      } else {
        p.search ??= new PartitionSearch(p.task.operations, model, limits);
        result = p.search.run(slice);
      }
      p.elapsedMs += performance.now() - started;
      if (!result) {
        unfinished.push(p);
        keepWithinBudget(unfinished, limits, onDone);
        continue;
      }
      if (result.verdict === "not linearizable") Atomics.store(stop, 0, 1);
      onDone({ key: p.task.key, search: result, elapsedMs: p.elapsedMs });
    }
    pending = unfinished;
  }
}

interface Running {
  task: PartitionTask;
  search?: PartitionSearch;
  elapsedMs: number;
}

/** Stops the biggest searches until the memo tables of those left fit in the memory budget. */
function keepWithinBudget(
  running: Running[],
  limits: SearchLimits,
  onDone: (outcome: PartitionOutcome) => void,
): void {
  let total = running.reduce((sum, p) => sum + (p.search?.cacheBytes ?? 0), 0);
  while (total > limits.memoryBudgetBytes && running.length > 0) {
    const biggest = running.reduce((a, b) =>
      (b.search?.cacheBytes ?? 0) > (a.search?.cacheBytes ?? 0) ? b : a
    );
    total -= biggest.search?.cacheBytes ?? 0;
    running.splice(running.indexOf(biggest), 1);
    onDone({
      key: biggest.task.key,
      search: biggest.search!.abandon(memoryReason(limits)),
      elapsedMs: biggest.elapsedMs,
    });
  }
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

/**
 * The definition of linearizability, executed literally, as an oracle for the real checker on small
 * histories: is there a subset of the unknown-outcome ops and an order of it plus every known-outcome
 * op that respects real time (a before b when a returned before b was called) and that the model
 * accepts step by step? It tries every such order, with no partitioning, no memo and no window, so
 * it shares nothing with wgl.ts but the model. Exponential: keep it under about 9 operations.
 */
import type { Model, ModelState } from "./model.ts";
import type { Operation } from "./operation.ts";

export function isLinearizableByBruteForce(operations: readonly Operation[], model: Model): boolean {
  if (operations.length > 12) {
    throw new Error(`brute force is for small histories, got ${operations.length} ops`);
  }
  const ops = [...operations];
  const place = (remaining: Operation[], state: ModelState): boolean => {
    if (remaining.every((o) => o.status === "unknown")) return true;
    for (const op of remaining) {
      const mustWait = remaining.some((other) =>
        other !== op && other.status === "ok" && other.ret < op.call
      );
      if (mustWait) continue;
      const after = model.step(state, op);
      if (after !== undefined && place(remaining.filter((o) => o !== op), after)) return true;
    }
    return false;
  };
  return place(ops, model.init());
}

/**
 * The key-value model without partitioning: one state for the whole store. Much slower than `kv`
 * (it is what P-compositionality saves); it exists to cross-check `kv` (both must give the same verdict).
 */
import { kvModel, stepKv, validateKv } from "./kv_model.ts";
import type { Model, ModelState } from "./model.ts";
import type { Operation } from "./operation.ts";

/** The store as a canonical string (sorted [key, value] pairs of the present keys) so states intern. */
function decode(state: ModelState): Map<string, string> {
  return new Map(JSON.parse(state as string) as Array<[string, string]>);
}

function encode(store: Map<string, string>): string {
  return JSON.stringify([...store].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0));
}

export const kvWholeModel: Model = {
  name: "kv-whole",
  about: "the kv model as one state for all keys (no partitioning; slow, for cross-checks)",
  partitionKey: () => "",
  init: () => "[]",
  step(state, op: Operation) {
    const store = decode(state);
    const next = stepKv(store.get(op.key) ?? null, op);
    if (next === undefined) return undefined;
    if (next === null) store.delete(op.key);
    else store.set(op.key, next);
    return encode(store);
  },
  isReadOnly: kvModel.isReadOnly,
  isBlindWrite: () => false,
  requiredState: () => undefined,
  distinguishes: () => undefined,
  validate: validateKv,
  describeState: (state) => state as string,
};

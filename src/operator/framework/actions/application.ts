import type { ObjectAddress } from "../client/kube_client.ts";
import type { ObjectPatch } from "../intents/handler_context.ts";
import { type Condition, type ConditionUpdate, setCondition } from "../structs/conditions.ts";
import type { KubeObject } from "../structs/objects.ts";
import { combinePatches, type MergePatch } from "../structs/patches.ts";
import { type OperatorStatus, operatorStatusPatch } from "./progress.ts";
import { type WriteEnv, writeGuarded } from "./writing.ts";

/** What to write after a handler call (or at the end of a cycle). */
export interface Writes {
  /** The handler's patch: `status` goes to the status subresource, the rest to the object. */
  patch?: ObjectPatch;
  conditions?: ConditionUpdate[];
  /** The generation the handler saw, for the conditions' observedGeneration. */
  observedGeneration?: number;
  /** Fields of `status.operator` to merge (null deletes). */
  operator?: Partial<Record<keyof OperatorStatus, unknown>>;
}

/**
 * Applies the writes: first the object part of the handler's patch, then one status patch with the
 * handler's status, its conditions and the framework's bookkeeping, so that progress and results land
 * together. Conditions are folded into the freshest list, also after a 409. Returns the object as
 * written, or undefined when it is gone.
 */
export async function applyWrites(
  env: WriteEnv,
  address: ObjectAddress,
  body: KubeObject,
  writes: Writes,
): Promise<KubeObject | undefined> {
  const { status: userStatus = {}, ...objectPart } = writes.patch ?? {};
  let current: KubeObject | undefined = body;
  current = await writeGuarded(env, address, "object", current, () => objectPart as MergePatch);
  if (!current) return undefined;
  return await writeGuarded(env, address, "status", current, (fresh) => {
    let patch: MergePatch = { status: userStatus };
    if (writes.conditions?.length) {
      let conditions = (fresh.status?.conditions ?? []) as Condition[];
      for (const update of writes.conditions) {
        conditions = setCondition(conditions, update, writes.observedGeneration);
      }
      patch = combinePatches(patch, { status: { conditions } });
    }
    if (writes.operator) patch = combinePatches(patch, operatorStatusPatch(writes.operator));
    return patch;
  });
}

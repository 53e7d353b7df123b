import { cloneJson, isPlainObject } from "./objects.ts";

/** A JSON merge patch (RFC 7386): objects merge key by key, `null` deletes, anything else replaces. */
export type MergePatch = Record<string, unknown>;

/** Applies a JSON merge patch to a copy of `target` (RFC 7386, section 2). */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return cloneJson(patch);
  const result: Record<string, unknown> = isPlainObject(target) ? cloneJson(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

/** One merge patch with the effect of applying `first`, then `second`. */
export function combinePatches(first: MergePatch, second: MergePatch): MergePatch {
  const result: MergePatch = cloneJson(first);
  for (const [key, value] of Object.entries(second)) {
    result[key] = isPlainObject(value) && isPlainObject(result[key])
      ? combinePatches(result[key] as MergePatch, value)
      : cloneJson(value);
  }
  return result;
}

/** Drops empty objects (they change nothing in a merge patch) so that "no change" reads as `{}`. */
export function withoutEmptyObjects(patch: MergePatch): MergePatch {
  const result: MergePatch = {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (isPlainObject(value)) {
      const inner = withoutEmptyObjects(value);
      if (Object.keys(inner).length > 0) result[key] = inner;
    } else {
      result[key] = value;
    }
  }
  return result;
}

export function isEmptyPatch(patch: MergePatch): boolean {
  return Object.keys(withoutEmptyObjects(patch)).length === 0;
}

import { isPlainObject, type KubeObject } from "./objects.ts";

/** One difference between two JSON values, at a path of object keys. */
export interface DiffItem {
  op: "add" | "change" | "remove";
  path: string[];
  old: unknown;
  new: unknown;
}

/** Annotations that tools maintain on every write; a change in them is not a change of intent. */
const IGNORED_ANNOTATIONS = ["kubectl.kubernetes.io/last-applied-configuration"];

/**
 * What the user asked for: every top-level field but `status` and `metadata` (so `spec`, and `data`
 * on kinds that have one), plus labels and annotations. Status writes, finalizers, resourceVersion
 * and managedFields never change it, which is how the operator ignores its own writes.
 */
export function essenceOf(body: KubeObject): Record<string, unknown> {
  const essence: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (!["apiVersion", "kind", "metadata", "status"].includes(key) && value !== undefined) {
      essence[key] = value;
    }
  }
  const annotations = Object.fromEntries(
    Object.entries(body.metadata.annotations ?? {}).filter(([key]) => !IGNORED_ANNOTATIONS.includes(key)),
  );
  const metadata: Record<string, unknown> = {};
  if (Object.keys(body.metadata.labels ?? {}).length > 0) metadata.labels = body.metadata.labels;
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  if (Object.keys(metadata).length > 0) essence.metadata = metadata;
  return essence;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) if (!deepEqual(a[key], b[key])) return false;
    return true;
  }
  return false;
}

/** The differences from `old` to `new`, descending into objects (arrays compare as whole values). */
export function diff(old: unknown, new_: unknown, path: string[] = []): DiffItem[] {
  if (deepEqual(old, new_)) return [];
  if (isPlainObject(old) && isPlainObject(new_)) {
    const keys = [...new Set([...Object.keys(old), ...Object.keys(new_)])].sort();
    return keys.flatMap((key) => diff(old[key], new_[key], [...path, key]));
  }
  if (old === undefined) return [{ op: "add", path, old, new: new_ }];
  if (new_ === undefined) return [{ op: "remove", path, old, new: new_ }];
  return [{ op: "change", path, old, new: new_ }];
}

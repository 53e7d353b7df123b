import type { KubeObject } from "../structs/objects.ts";

/** Matches when the label or annotation is set, whatever its value. */
export const PRESENT: unique symbol = Symbol("PRESENT");
/** Matches when the label or annotation is not set. */
export const ABSENT: unique symbol = Symbol("ABSENT");

/** A wanted value, PRESENT, ABSENT, or a predicate given the value (undefined when not set). */
export type ValueMatcher = string | typeof PRESENT | typeof ABSENT | ((value: string | undefined) => boolean);

/** Which objects a handler is for; every criterion given must match. */
export interface Filters {
  labels?: Record<string, ValueMatcher>;
  annotations?: Record<string, ValueMatcher>;
  when?: (body: KubeObject) => boolean;
}

function valueMatches(matcher: ValueMatcher, value: string | undefined): boolean {
  if (matcher === PRESENT) return value !== undefined;
  if (matcher === ABSENT) return value === undefined;
  if (typeof matcher === "function") return matcher(value);
  return value === matcher;
}

function mapMatches(
  wanted: Record<string, ValueMatcher> | undefined,
  actual: Record<string, string> | undefined,
) {
  return Object.entries(wanted ?? {}).every(([key, matcher]) => valueMatches(matcher, actual?.[key]));
}

export function matchesFilters(filters: Filters, body: KubeObject): boolean {
  return mapMatches(filters.labels, body.metadata.labels) &&
    mapMatches(filters.annotations, body.metadata.annotations) &&
    (filters.when?.(body) ?? true);
}

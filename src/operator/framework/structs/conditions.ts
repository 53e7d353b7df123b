/**
 * Status conditions as the Kubernetes API conventions define them (metav1.Condition): a list keyed by
 * `type`, `status` True/False/Unknown, a CamelCase `reason`, a human `message`, the `observedGeneration`
 * the condition was computed from, and `lastTransitionTime`, which moves only when `status` changes.
 */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

/** The summary conditions this framework suggests; any other CamelCase type works too. */
export type ConditionType = "Ready" | "Progressing" | "Degraded" | (string & Record<never, never>);

/** What a handler states; the framework fills in observedGeneration and lastTransitionTime. */
export interface ConditionUpdate {
  type: ConditionType;
  status: Condition["status"];
  reason: string;
  message?: string;
}

const CAMEL_CASE = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;

/** Returns `conditions` with `update` applied, like apimachinery's meta.SetStatusCondition. */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  observedGeneration: number | undefined,
  now: Date = new Date(),
): Condition[] {
  if (!CAMEL_CASE.test(update.reason)) {
    throw new Error(
      `condition ${update.type}: reason "${update.reason}" is not CamelCase (API conventions); ` +
        `use a word like "ScalingUp"`,
    );
  }
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === update.type);
  const previous = index >= 0 ? list[index] : undefined;
  const next: Condition = {
    type: update.type,
    status: update.status,
    reason: update.reason,
    message: update.message ?? "",
    ...(observedGeneration === undefined ? {} : { observedGeneration }),
    lastTransitionTime: previous && previous.status === update.status
      ? previous.lastTransitionTime
      : now.toISOString().replace(/\.\d+Z$/, "Z"), // metav1.Time has second precision
  };
  if (index >= 0) list[index] = next;
  else list.push(next);
  return list;
}

export function findCondition(conditions: readonly Condition[] | undefined, type: ConditionType) {
  return conditions?.find((c) => c.type === type);
}

/** True when the condition is True and computed from the object's current generation. */
export function isConditionTrue(
  conditions: readonly Condition[] | undefined,
  type: ConditionType,
  generation?: number,
): boolean {
  const condition = findCondition(conditions, type);
  if (!condition || condition.status !== "True") return false;
  return generation === undefined || condition.observedGeneration === generation;
}

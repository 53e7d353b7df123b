/**
 * The JSON-schema fragment to put under your CRD's `status.properties` so that the API server keeps
 * the framework's bookkeeping (a structural schema silently prunes undeclared fields, and a pruned
 * record means handlers that run again after every restart). Also enable the status subresource:
 *
 *   subresources: { status: {} }
 *   schema.openAPIV3Schema.properties.status.properties: { operator: <this>, conditions: <conditionsSchema()> }
 */
export function operatorStatusSchema(): Record<string, unknown> {
  return {
    type: "object",
    description: "Bookkeeping of the operator framework: do not edit.",
    properties: {
      lastHandled: { type: "string", description: "JSON of the spec, labels and annotations last handled." },
      progress: {
        type: "object",
        description: "Per-handler progress of the change being handled.",
        additionalProperties: {
          type: "object",
          properties: {
            started: { type: "string" },
            retries: { type: "integer" },
            delayedUntil: { type: "string" },
            success: { type: "boolean" },
            failure: { type: "boolean" },
            message: { type: "string" },
            digest: { type: "string" },
          },
        },
      },
      failures: {
        type: "object",
        description: "Handlers that failed permanently, until they next succeed.",
        additionalProperties: {
          type: "object",
          properties: { message: { type: "string" }, time: { type: "string" } },
        },
      },
    },
  };
}

/** The schema of `status.conditions` (metav1.Condition), listed by `type`. */
export function conditionsSchema(): Record<string, unknown> {
  return {
    type: "array",
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
    items: {
      type: "object",
      required: ["type", "status", "reason", "message", "lastTransitionTime"],
      properties: {
        type: { type: "string" },
        status: { type: "string", enum: ["True", "False", "Unknown"] },
        reason: { type: "string" },
        message: { type: "string" },
        observedGeneration: { type: "integer", format: "int64" },
        lastTransitionTime: { type: "string", format: "date-time" },
      },
    },
  };
}

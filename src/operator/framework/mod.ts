/**
 * A Kopf-style operator framework for Deno: decorate a class, hand an instance to an Operator.
 *
 *   @resource({ group: "example.raftkv.dev", version: "v1", plural: "widgets", kind: "Widget" })
 *   class Widgets {
 *     @onCreate() created(ctx: HandlerContext) { ctx.patch.status.phase = "Created"; }
 *     @onUpdate("spec.replicas") scaled(ctx: HandlerContext) { ctx.logger.info(`${ctx.old} -> ${ctx.new}`); }
 *     @onDelete() deleted(ctx: HandlerContext) {}
 *   }
 *   const op = new Operator({ kubeConfig, handlers: [new Widgets()] });
 *   await op.start(); ... await op.stop();
 *
 * See README.md in this folder for the semantics (persistence, retries, watches, leader election).
 */
export { KubeConfigH1 } from "./kube_config.ts";
export { DEFAULT_SETTINGS, Operator, type OperatorOptions, type OperatorSettings } from "./operator.ts";
export { onCreate, onDelete, onResume, onUpdate, resource, timer } from "./intents/decorators.ts";
export { ABSENT, type Filters, PRESENT, type ValueMatcher } from "./intents/filters.ts";
export { PermanentError, TemporaryError } from "./intents/errors.ts";
export type { EventType, HandlerContext, ObjectPatch, Reason } from "./intents/handler_context.ts";
export type { LeaderElectionOptions } from "./engines/leader_election.ts";
export { consoleLogger, type Logger, type LogLevel } from "./engines/logging.ts";
export type { OperatorStats } from "./engines/stats.ts";
export { conditionsSchema, operatorStatusSchema } from "./actions/schema.ts";
export {
  canonicalJson,
  OPERATOR_STATUS_FIELD,
  type OperatorStatus,
  type ProgressRecord,
} from "./actions/progress.ts";
export { apiStatusCode, describeApiError } from "./client/api_error.ts";
export {
  type Condition,
  type ConditionType,
  type ConditionUpdate,
  findCondition,
  isConditionTrue,
  setCondition,
} from "./structs/conditions.ts";
export type { DiffItem } from "./structs/diffs.ts";
export type { KubeObject, ObjectMeta, ResourceRef } from "./structs/objects.ts";

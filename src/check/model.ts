/**
 * What a sequential specification must provide to the checker. Models are pure: `step` never mutates.
 */
import type { Operation, Value } from "./operation.ts";

/** Model states are primitives so the checker can intern them (equal states get the same small integer). */
export type ModelState = Value;

export interface Model {
  name: string;
  /** One line for `--help` and reports. */
  about: string;
  /** Operations with different keys never interact, so each partition is checked on its own (P-compositionality). */
  partitionKey(op: Operation): string;
  init(): ModelState;
  /**
   * The state after `op` when `op` may take effect in `state`, or undefined when its output is impossible there.
   * An operation with status "unknown" has no output to contradict, so it must always be applicable.
   */
  step(state: ModelState, op: Operation): ModelState | undefined;
  /** A read whose outcome is unknown changes nothing and constrains nothing: the checker drops it. */
  isReadOnly(op: Operation): boolean;
  /** The new state does not depend on the old one (put, delete, write): lets the search skip redundant orders. */
  isBlindWrite(op: Operation): boolean;
  /**
   * The one state in which this completed op fits (a read: the value it returned; a cas that swapped: the
   * value it expected), or undefined when it fits in several. Lets the search skip unknown ops that cannot help.
   */
  requiredState(op: Operation): ModelState | undefined;
  /**
   * The states this op tells apart: in every other state it behaves alike (it fits in all of them or in
   * none, and leaves the state as it was or sets one fixed state). A read: the value read; a cas: the value
   * expected; put, delete: none. Undefined when the op depends on the state in another way (append). Lets
   * the search treat unknown writes of values that no pending op looks at as interchangeable.
   */
  distinguishes(op: Operation): ModelState[] | undefined;
  /**
   * Optional, for models where some writes only extend the state (append): `extendsOnly(op)` is true for
   * such an op, and `canExtend(from, to)` tells whether a sequence of such ops can turn `from` into `to`.
   * Lets the search drop a configuration whose state can no longer become what a pending read returned
   * when nothing but extending ops can come before that read (wgl.ts).
   */
  extendsOnly?(op: Operation): boolean;
  /**
   * Optional: the text `op` appends when `step(state, op)` is always `(state ?? "") + text` for a text or
   * null state (kv's append), else undefined. Lets the checker intern the new state without hashing all of
   * it (state_table.ts).
   */
  appendedText?(op: Operation): string | undefined;
  canExtend?(from: ModelState, to: ModelState): boolean;
  /** Why `op` does not fit this model (wrong op name, missing value), or undefined when it does. */
  validate(op: Operation): string | undefined;
  describeState(state: ModelState): string;
}

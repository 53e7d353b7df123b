/**
 * A register: read, write, cas, starting at null. Values are strings, numbers or null, compared with ===.
 * Operations on different keys are independent registers (Jepsen's "independent" checker); a history
 * without keys is a single register.
 */
import type { Model } from "./model.ts";
import { type Operation, show } from "./operation.ts";

const REGISTER_OPS = new Set(["read", "write", "cas"]);

export const registerModel: Model = {
  name: "register",
  about: "register (read, write, cas; starts at null), one per key",
  partitionKey: (op) => op.key,
  init: () => null,
  step(state, op: Operation) {
    switch (op.op) {
      case "read":
        return op.status === "unknown" || op.output === state ? state : undefined;
      case "write":
        return op.value ?? null;
      case "cas": {
        const matches = state === op.prev;
        if (op.status === "unknown") return matches ? op.value ?? null : state;
        if (op.output === true) return matches ? op.value ?? null : undefined;
        return matches ? undefined : state;
      }
      default:
        return undefined;
    }
  },
  isReadOnly: (op) => op.op === "read",
  isBlindWrite: (op) => op.op === "write",
  requiredState(op) {
    if (op.status !== "ok") return undefined;
    if (op.op === "read") return op.output ?? null;
    return op.op === "cas" && op.output === true ? op.prev ?? null : undefined;
  },
  distinguishes(op) {
    if (op.op === "read") return [op.output ?? null];
    return op.op === "cas" ? [op.prev ?? null] : [];
  },
  validate(op) {
    if (!REGISTER_OPS.has(op.op)) return `the register model has no "${op.op}" (it knows read, write, cas)`;
    if ((op.op === "write" || op.op === "cas") && op.value === undefined) return `${op.op} needs a "value"`;
    if (op.op === "cas" && op.prev === undefined) return `cas needs a "prev" (the expected value)`;
    if (op.status === "ok" && op.op === "read" && op.output === undefined) {
      return `a completed read needs an "output"`;
    }
    if (op.status === "ok" && op.op === "cas" && typeof op.output !== "boolean") {
      return `a completed cas needs a boolean "output" (true when it swapped), got ${
        show(op.output) || "none"
      }`;
    }
    return undefined;
  },
  describeState: (state) => show(state),
};

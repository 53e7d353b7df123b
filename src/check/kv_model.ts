/**
 * Key-value store: get, put, delete, cas, append. A missing key reads as "" (as in the Porcupine fixtures),
 * so a deleted key and a key holding "" cannot be told apart by any client: both are the state "".
 */
import type { Model, ModelState } from "./model.ts";
import { type Operation, show } from "./operation.ts";

const KV_OPS = new Set(["get", "put", "delete", "cas", "append"]);

export function stepKv(state: string, op: Operation): string | undefined {
  switch (op.op) {
    case "get":
      return op.status === "unknown" || (op.output ?? "") === state ? state : undefined;
    case "put":
      return op.value as string;
    case "delete":
      return "";
    case "append":
      return state + (op.value as string);
    case "cas": {
      const matches = state === op.prev;
      if (op.status === "unknown") return matches ? op.value as string : state;
      if (op.output === true) return matches ? op.value as string : undefined;
      return matches ? undefined : state;
    }
    default:
      return undefined;
  }
}

export function validateKv(op: Operation): string | undefined {
  if (!KV_OPS.has(op.op)) return `the kv model has no "${op.op}" (it knows get, put, delete, cas, append)`;
  if ((op.op === "put" || op.op === "append" || op.op === "cas") && typeof op.value !== "string") {
    return `${op.op} needs a string "value", got ${show(op.value) || "none"}`;
  }
  if (op.op === "cas" && typeof op.prev !== "string") {
    return `cas needs a string "prev", got ${show(op.prev) || "none"}`;
  }
  if (op.status === "ok" && op.op === "get" && typeof op.output !== "string" && op.output !== null) {
    return `a completed get needs a string "output" ("" or null for a missing key), got ${
      show(op.output) || "none"
    }`;
  }
  if (op.status === "ok" && op.op === "cas" && typeof op.output !== "boolean") {
    return `a completed cas needs a boolean "output" (true when it swapped), got ${
      show(op.output) || "none"
    }`;
  }
  return undefined;
}

export const kvModel: Model = {
  name: "kv",
  about: 'key-value store (get, put, delete, cas, append; a missing key reads as ""), checked key by key',
  partitionKey: (op) => op.key,
  init: () => "",
  step: (state: ModelState, op: Operation) => stepKv(state as string, op),
  isReadOnly: (op) => op.op === "get",
  isBlindWrite: (op) => op.op === "put" || op.op === "delete",
  requiredState(op) {
    if (op.status !== "ok") return undefined;
    if (op.op === "get") return op.output ?? "";
    return op.op === "cas" && op.output === true ? op.prev : undefined;
  },
  distinguishes(op) {
    if (op.op === "get") return [op.output ?? ""];
    if (op.op === "cas") return [op.prev ?? ""];
    return op.op === "append" ? undefined : [];
  },
  validate: validateKv,
  describeState: (state) => show(state),
};

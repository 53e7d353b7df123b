/**
 * Key-value store: get, put, delete, cas, append. A key's state is its value, or null while it is absent.
 * A get of an absent key returns "" (as in the Porcupine fixtures) or null. A cas compares exactly, as
 * the server does: expecting "" matches a present empty value only, expecting null matches an absent key.
 * An append to an absent key appends to "".
 */
import type { Model, ModelState } from "./model.ts";
import { type Operation, show } from "./operation.ts";

const KV_OPS = new Set(["get", "put", "delete", "cas", "append"]);

type KvState = string | null;

export function stepKv(state: KvState, op: Operation): KvState | undefined {
  switch (op.op) {
    case "get":
      return op.status === "unknown" || reads(op.output, state) ? state : undefined;
    case "put":
      return op.value as string;
    case "delete":
      return null;
    case "append":
      return (state ?? "") + (op.value as string);
    case "cas": {
      const matches = state === (op.prev ?? null);
      if (op.status === "unknown") return matches ? op.value as string : state;
      if (op.output === true) return matches ? op.value as string : undefined;
      return matches ? undefined : state;
    }
    default:
      return undefined;
  }
}

/** Can a get that returned `output` have read `state`? An absent key reads as "" or null. */
function reads(output: Operation["output"], state: KvState): boolean {
  return output === state || (state === null && output === "");
}

export function validateKv(op: Operation): string | undefined {
  if (!KV_OPS.has(op.op)) return `the kv model has no "${op.op}" (it knows get, put, delete, cas, append)`;
  if ((op.op === "put" || op.op === "append" || op.op === "cas") && typeof op.value !== "string") {
    return `${op.op} needs a string "value", got ${show(op.value) || "none"}`;
  }
  if (op.op === "cas" && typeof op.prev !== "string" && op.prev !== null) {
    return `cas needs "prev": the value it expects, or null for "absent"; got ${show(op.prev) || "none"}`;
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
  init: () => null,
  step: (state: ModelState, op: Operation) => stepKv(state as KvState, op),
  // A cas that found another value changes nothing either.
  isReadOnly: (op) => op.op === "get" || (op.op === "cas" && op.status === "ok" && op.output === false),
  isBlindWrite: (op) => op.op === "put" || op.op === "delete",
  requiredState(op) {
    if (op.status !== "ok") return undefined;
    // A get of "" fits a present "" and an absent key: two states.
    if (op.op === "get") return op.output === "" ? undefined : op.output ?? null;
    return op.op === "cas" && op.output === true ? op.prev ?? null : undefined;
  },
  distinguishes(op) {
    if (op.op === "get") return op.output === "" ? ["", null] : [op.output ?? null];
    if (op.op === "cas") return [op.prev ?? null];
    return op.op === "append" ? undefined : [];
  },
  // An append only extends the value; put, delete and a cas that swapped may set anything.
  extendsOnly: (op) => op.op === "append",
  // stepKv's append: (state ?? "") + value.
  appendedText: (op) => op.op === "append" ? op.value as string : undefined,
  canExtend(from, to) {
    if (from === to) return true;
    // Appends never make a key absent; from an absent key they build on "".
    return typeof to === "string" && to.startsWith((from as string | null) ?? "");
  },
  validate: validateKv,
  describeState: (state) => state === null ? "(absent)" : show(state),
};

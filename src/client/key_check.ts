/** The server's key rules, checked before sending so bad input fails fast and changes nothing. */
import { KvError } from "./errors.ts";

export const MAX_KEY_BYTES = 512;

/** Throws a `bad_request` KvError naming the problem when `key` is not a valid raft-kv key. */
export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== "string") throw badKey(`the key must be a string, got ${typeof key}`);
  if (key.length === 0) throw badKey("the key is empty; keys are 1 to 512 bytes of UTF-8");
  if (!key.isWellFormed()) throw badKey("the key holds a lone UTF-16 surrogate, which has no UTF-8 form");
  const bytes = new TextEncoder().encode(key).length;
  if (bytes > MAX_KEY_BYTES) {
    throw badKey(`the key is ${bytes} bytes of UTF-8; the limit is ${MAX_KEY_BYTES}`);
  }
  if (key === "." || key === "..") {
    throw badKey(
      `"${key}" cannot travel in a URL path (/kv/${key} means a directory step to every HTTP client)`,
    );
  }
  // The server's rule: C0 controls and DEL (C1 controls are allowed).
  // deno-lint-ignore no-control-regex
  const control = key.match(/[\u0000-\u001f\u007f]/)?.[0];
  if (control !== undefined) {
    const code = control.codePointAt(0)!.toString(16).padStart(4, "0");
    throw badKey(`the key holds the control character U+${code}; keys must be printable`);
  }
}

export function checkValue(value: unknown, what = "the value"): asserts value is string {
  if (typeof value !== "string") {
    throw new KvError("bad_request", 0, `${what} must be a string, got ${typeof value}`);
  }
}

function badKey(problem: string): KvError {
  return new KvError("bad_request", 0, `bad key: ${problem}`);
}

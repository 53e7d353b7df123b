/**
 * Values between the CLI and the outside: reading put's value from a file or standard input (UTF-8,
 * checked, never changed), and showing a value on a terminal without letting it drive the terminal.
 */
import type { ValueSource } from "./cli_args.ts";

/** A value the CLI cannot send as it is; the message says what to do instead. */
export class ValueInputError extends Error {
  override name = "ValueInputError";
}

export async function readValue(source: ValueSource, stdin: ReadableStream<Uint8Array>): Promise<string> {
  if (source.from === "argument") return source.text;
  let bytes: Uint8Array;
  const what = source.from === "file" ? source.path : "standard input";
  if (source.from === "file") {
    try {
      bytes = await Deno.readFile(source.path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new ValueInputError(`--value-file ${source.path}: no such file`);
      }
      if (error instanceof Deno.errors.IsADirectory) {
        throw new ValueInputError(`--value-file ${source.path}: is a directory`);
      }
      throw new ValueInputError(`--value-file ${source.path}: cannot read it (${(error as Error).message})`);
    }
  } else {
    bytes = new Uint8Array(await new Response(stdin).arrayBuffer());
  }
  const bad = firstInvalidUtf8(bytes);
  if (bad !== -1) {
    throw new ValueInputError(
      `${what} is not valid UTF-8 (byte ${bad} of ${bytes.length}): raft-kv values are text; ` +
        `encode binary data first, e.g. base64 FILE | deno task kv put KEY -`,
    );
  }
  return new TextDecoder().decode(bytes);
}

/** The offset of the first byte that breaks UTF-8 (overlongs, surrogates and > U+10FFFF too), or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return -1;
  } catch {
    // Find where, for the message: the longest valid prefix, by bisection on the fatal decoder.
  }
  const valid = (n: number) => {
    try {
      // A prefix may end inside a valid character: stream mode tolerates that, not a real error.
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, n), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  if (valid(bytes.length)) {
    // Only the end is wrong: a character cut short. It starts at the last byte that is not 10xxxxxx.
    let at = bytes.length - 1;
    while (at > 0 && (bytes[at] & 0xc0) === 0x80) at--;
    return at;
  }
  let good = 0;
  let bad = bytes.length;
  while (bad - good > 1) {
    const mid = (good + bad) >> 1;
    if (valid(mid)) good = mid;
    else bad = mid;
  }
  return good;
}

/**
 * A value as it may be shown on a terminal: C0 controls (but newline and tab), DEL, C1 controls and the
 * bidirectional overrides become visible escapes (\x1b, \u202e), so a value cannot recolour the terminal,
 * set its title or reorder what is shown. A backslash is doubled only when escapes were added, so a plain
 * value prints unchanged.
 */
export function escapeForTerminal(value: string): string {
  // deno-lint-ignore no-control-regex
  const unsafe = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
  if (!unsafe.test(value)) return value;
  return value.replace(/\\/g, "\\\\").replace(unsafe, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

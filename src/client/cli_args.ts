/**
 * The CLI's grammar: turns an argument list (from the command line, or one REPL line split into
 * words) into a command, or a UsageError saying what is wrong. Never throws anything else.
 */
import { parseArgs } from "node:util";
import { plainMessage, UsageError } from "../cli/args.ts";

/** Where put's value comes from: the argument, a file (--value-file), or standard input (`-`). */
export type ValueSource =
  | { from: "argument"; text: string }
  | { from: "file"; path: string }
  | { from: "stdin" };

export type Command =
  | { name: "put"; key: string; value: ValueSource; node?: number; prevValue?: string | null }
  | { name: "get"; key: string; node?: number; stale: boolean; raw: boolean }
  | { name: "delete"; key: string; node?: number }
  | { name: "status"; node?: number; json: boolean }
  | { name: "help" }
  | { name: "exit" };

export interface CommandLine {
  /** Comma-separated client URLs given with --endpoints. */
  endpoints?: string;
  /** Absent: start the REPL. */
  command?: Command;
}

export { UsageError };

export const USAGE = `raft-kv client

usage: deno task kv [--endpoints URL,URL...] <command> [options]
       deno task kv [--endpoints URL,URL...]          (no command: interactive prompt)

commands:
  put <key> <value> [--node N] [--prev-value OLD | --if-absent]
                      write a value; --prev-value / --if-absent make it a compare-and-swap
  put <key> --value-file FILE | put <key> -
                      the value is the file's bytes, or standard input's, exactly (no newline
                      is added or removed; values up to the server's limit, 1 MiB by default)
  get <key> [--node N] [--stale] [--raw]
                      read a value (linearizable; --stale reads the node's local copy). On a
                      terminal, control characters are shown escaped (\x1b); --raw writes the
                      value's bytes exactly, with no newline. Details on stderr: the index of the
                      write that set the value, and which node served it
  delete <key> [--node N]
                      delete a key
  status [--node N] [--json]
                      one node's view of the cluster (the leader's when no --node)
  help                this text

options:
  --endpoints URL,... client URLs of the nodes (default: $RAFTKV_ENDPOINTS, else the local
                      cluster's .data/local/cluster.json from \`deno task local up\`)
  --node N            send to node N only (a follower forwards writes to the leader)

A cluster with TLS and client tokens: $RAFTKV_CA_FILE (the cluster CA, PEM) and $RAFTKV_TOKEN; a local
cluster started with \`deno task local up --tls\` needs neither (its state file names both).

A value or key starting with "-" goes after "--":  put k -- -5
Values are UTF-8 text: a file or input that is not valid UTF-8 is refused (encode binary data first,
e.g. base64 FILE | deno task kv put KEY -).
exit codes: 0 ok, 1 not found or compare-and-swap mismatch, 2 usage, 3 cluster unavailable`;

/** `allowGlobal`: whether --endpoints is accepted (on the command line, not inside the REPL). */
export function parseCommandLine(args: readonly string[], allowGlobal = true): CommandLine {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        endpoints: { type: "string" },
        node: { type: "string" },
        stale: { type: "boolean" },
        "prev-value": { type: "string" },
        "if-absent": { type: "boolean" },
        json: { type: "boolean" },
        raw: { type: "boolean" },
        "value-file": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError(plainMessage(error));
  }
  const { values, positionals } = parsed;
  if (values.endpoints !== undefined && !allowGlobal) {
    throw new UsageError("--endpoints is set when the client starts, not inside the prompt");
  }
  if (values.help) return { endpoints: values.endpoints, command: { name: "help" } };
  const [name, ...rest] = positionals;
  if (name === undefined) {
    const stray = Object.keys(values).filter((option) => option !== "endpoints");
    if (stray.length > 0) throw new UsageError(`--${stray[0]} needs a command`);
    return { endpoints: values.endpoints };
  }
  const allowed = ALLOWED_OPTIONS.get(name);
  const arity = ARITY.get(name);
  if (allowed === undefined || arity === undefined) throw new UsageError(`unknown command "${name}"`);
  const misplaced = Object.keys(values).find((option) => option !== "endpoints" && !allowed.includes(option));
  if (misplaced !== undefined) throw new UsageError(`--${misplaced} does not apply to ${name}`);
  const optional = name === "put" && (values["value-file"] !== undefined || rest[1] === "-") ? 1 : 0;
  if (name === "put" && values["value-file"] !== undefined && rest.length === 2) {
    throw new UsageError(
      "put takes its value once: as an argument, with --value-file, or - for standard input",
    );
  }
  if (rest.length !== arity.length && rest.length !== arity.length - optional) {
    const expected = (arity.length === 0 ? "no arguments" : arity.map((word) => `<${word}>`).join(" ")) +
      (name === "put" ? " (or <key> --value-file FILE, or <key> - to read standard input)" : "");
    throw new UsageError(`${name} takes ${expected}, got ${rest.length} argument(s)`);
  }
  const node = values.node === undefined ? undefined : parseNodeId(values.node);
  return { endpoints: values.endpoints, command: buildCommand(name, rest, node, values) };
}

/** Maps, not object literals: a command named "constructor" must be unknown, not Object's own. */
const ALLOWED_OPTIONS = new Map<string, readonly string[]>([
  ["put", ["node", "prev-value", "if-absent", "value-file"]],
  ["get", ["node", "stale", "raw"]],
  ["delete", ["node"]],
  ["status", ["node", "json"]],
  ["help", []],
  ["exit", []],
  ["quit", []],
]);

const ARITY = new Map<string, readonly string[]>([
  ["put", ["key", "value"]],
  ["get", ["key"]],
  ["delete", ["key"]],
  ["status", []],
  ["help", []],
  ["exit", []],
  ["quit", []],
]);

function buildCommand(
  name: string,
  rest: string[],
  node: number | undefined,
  values: {
    stale?: boolean;
    "prev-value"?: string;
    "if-absent"?: boolean;
    json?: boolean;
    raw?: boolean;
    "value-file"?: string;
  },
): Command {
  switch (name) {
    case "put": {
      if (values["prev-value"] !== undefined && values["if-absent"]) {
        throw new UsageError("--prev-value and --if-absent exclude each other");
      }
      const prevValue = values["if-absent"] ? null : values["prev-value"];
      if (typeof prevValue === "string") refuseReplacementCharacter("--prev-value", prevValue);
      const value: ValueSource = values["value-file"] !== undefined
        ? { from: "file", path: values["value-file"] }
        : rest[1] === "-"
        ? { from: "stdin" }
        : { from: "argument", text: refuseReplacementCharacter("the value", rest[1]) };
      return { name, key: rest[0], value, node, ...(prevValue === undefined ? {} : { prevValue }) };
    }
    case "get":
      return { name, key: rest[0], node, stale: values.stale ?? false, raw: values.raw ?? false };
    case "delete":
      return { name, key: rest[0], node };
    case "status":
      return { name, node, json: values.json ?? false };
    case "help":
      return { name };
    default:
      return { name: "exit" };
  }
}

/**
 * The runtime turns bytes of a command-line argument that are not UTF-8 into U+FFFD, silently: refuse
 * rather than store a changed value. (A real U+FFFD can still be written with --value-file.)
 */
function refuseReplacementCharacter(what: string, text: string): string {
  if (text.includes("\uFFFD")) {
    throw new UsageError(
      `${what} holds U+FFFD, which is what bytes that are not UTF-8 become on the command line: ` +
        "values are UTF-8 text; pass the bytes with --value-file FILE (checked, never changed), or " +
        "encode binary data first (base64 FILE | deno task kv put KEY -)",
    );
  }
  return text;
}

function parseNodeId(raw: string): number {
  const id = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(id) || id <= 0) {
    throw new UsageError(`--node takes a node id (a positive integer), got "${raw}"`);
  }
  return id;
}

/**
 * Splits a REPL line into words: whitespace separates, '...' and "..." group, and a backslash
 * escapes the next character outside single quotes.
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (quote) {
      if (char === quote) quote = undefined;
      else if (char === "\\" && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
    } else if (char === "\\" && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (quote) throw new UsageError(`unterminated ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}

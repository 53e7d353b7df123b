/**
 * The interactive prompt: one command per line, the same grammar as the command line. Works on a
 * terminal and on piped input alike (the prompt is shown only on a terminal). Errors are printed
 * and the prompt goes on; `exit`, `quit` or end of input leave it. On a terminal, node:readline does the
 * line editing: arrows, Home/End, Ctrl-A/E/K/U/W, and history (up/down) kept across sessions in
 * ~/.raftkv_history. node:readline has no Ctrl-R search; the history file is there for grep.
 */
import * as readline from "node:readline";
import process from "node:process";
import { parseCommandLine, splitWords, UsageError } from "./cli_args.ts";
import { type Output, runCommand } from "./cli_commands.ts";
import type { KvClient } from "./kv_client.ts";

export const PROMPT = "raft-kv> ";

export const REPL_HELP = `commands:
  put <key> <value> [--node N] [--prev-value OLD | --if-absent]
  put <key> --value-file FILE
  get <key> [--node N] [--stale] [--raw]
  delete <key> [--node N]
  status [--node N] [--json]
  help
  exit                (or quit, or end of input)
quote words that hold spaces: put greeting "hello world"
keys: up/down for history, left/right to edit, Ctrl-D or exit to leave`;

/** Runs commands from `lines` until exit or end of input; `showPrompt` is called before each read. */
export async function runRepl(
  client: KvClient,
  lines: AsyncIterable<string>,
  out: Output,
  showPrompt: () => void = () => {},
): Promise<void> {
  const iterator = lines[Symbol.asyncIterator]();
  while (true) {
    showPrompt();
    const { value: line, done } = await iterator.next();
    if (done) return;
    let words: string[];
    let command;
    try {
      words = splitWords(line);
      if (words.length === 0 || words[0].startsWith("#")) continue;
      command = parseCommandLine(words, false).command;
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      out.stderr(`error: ${error.message}; type help for the commands`);
      continue;
    }
    if (command === undefined) {
      out.stderr("error: options need a command; type help for the commands");
    } else if (command.name === "exit") {
      return;
    } else if (command.name === "help") {
      out.stdout(REPL_HELP);
    } else {
      await runCommand(client, command, out);
    }
  }
}

/** Lines of a byte stream, without their line endings; a last line with no newline counts. */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    let newline;
    while ((newline = pending.indexOf("\n")) >= 0) {
      yield pending.slice(0, newline).replace(/\r$/, "");
      pending = pending.slice(newline + 1);
    }
  }
  if (pending !== "") yield pending.replace(/\r$/, "");
}

const HISTORY_LINES = 1000;

export function defaultHistoryFile(): string | undefined {
  const home = Deno.env.get("HOME");
  return Deno.env.get("RAFTKV_HISTORY") ?? (home ? `${home}/.raftkv_history` : undefined);
}

/** A terminal prompt on node:readline: the lines typed, and a way to show the prompt before each. */
export function terminalLines(historyFile: string | undefined): {
  lines: AsyncIterable<string>;
  showPrompt: () => void;
  close: () => void;
} {
  // Never a permission prompt in the middle of the prompt: without write access, history is per session.
  if (historyFile && Deno.permissions.querySync({ name: "write", path: historyFile }).state !== "granted") {
    historyFile = undefined;
  }
  const history = historyFile ? loadHistory(historyFile) : [];
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: true,
    prompt: PROMPT,
    history,
    historySize: HISTORY_LINES,
    removeHistoryDuplicates: true,
  });
  // Ctrl-C on an empty line leaves, as in a shell's REPLs; on a typed line it drops the line.
  rl.on("SIGINT", () => {
    if (rl.line === "") {
      process.stdout.write("\n");
      rl.close();
    } else {
      process.stdout.write("^C\n");
      (rl as unknown as { line: string }).line = "";
      rl.prompt();
    }
  });
  const iterator = rl[Symbol.asyncIterator]();
  async function* lines(): AsyncGenerator<string> {
    while (true) {
      const { value, done } = await iterator.next();
      if (done) return;
      if (historyFile && value.trim() !== "") appendHistory(historyFile, value);
      yield value;
    }
  }
  return { lines: lines(), showPrompt: () => rl.prompt(), close: () => rl.close() };
}

/** readline wants the newest line first. An unreadable history file is no reason to refuse a prompt. */
function loadHistory(path: string): string[] {
  try {
    return Deno.readTextFileSync(path).split("\n").filter((l) => l !== "").slice(-HISTORY_LINES).reverse();
  } catch {
    return [];
  }
}

function appendHistory(path: string, line: string): void {
  try {
    Deno.writeTextFileSync(path, line.replaceAll("\n", " ") + "\n", { append: true, mode: 0o600 });
  } catch {
    // Read-only home: the session keeps its in-memory history.
  }
}

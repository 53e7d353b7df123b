/**
 * The interactive prompt: one command per line, the same grammar as the command line. Works on a
 * terminal and on piped input alike (the prompt is shown only on a terminal). Errors are printed
 * and the prompt goes on; `exit`, `quit` or end of input leave it.
 */
import { parseCommandLine, splitWords, UsageError } from "./cli_args.ts";
import { type Output, runCommand } from "./cli_commands.ts";
import type { KvClient } from "./kv_client.ts";

export const PROMPT = "raft-kv> ";

export const REPL_HELP = `commands:
  put <key> <value> [--node N] [--prev-value OLD | --if-absent]
  get <key> [--node N] [--stale]
  delete <key> [--node N]
  status [--node N] [--json]
  help
  exit                (or quit, or end of input)
quote words that hold spaces: put greeting "hello world"`;

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

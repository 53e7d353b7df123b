/**
 * `deno task kv`: the raft-kv command line client. With a command it runs it and exits
 * (0 ok, 1 not found or CAS mismatch, 2 usage, 3 cluster unavailable); with none it opens a prompt.
 */
import { parseCommandLine, USAGE, UsageError } from "./cli_args.ts";
import { usageErrorLines } from "../cli/args.ts";
import {
  describeEvent,
  EXIT_UNAVAILABLE,
  EXIT_USAGE,
  type Output,
  reportError,
  runCommand,
} from "./cli_commands.ts";
import { accessOf, DEFAULT_CLUSTER_FILE, findEndpoints } from "./cli_endpoints.ts";
import { KvClient } from "./kv_client.ts";
import { KvError } from "./errors.ts";
import { defaultHistoryFile, readLines, runRepl, terminalLines } from "./repl.ts";

const console_: Output = {
  stdout: (line) => console.log(line),
  stderr: (line) => console.error(line),
  raw: (bytes) => {
    for (let done = 0; done < bytes.length;) done += Deno.stdout.writeSync(bytes.subarray(done));
  },
  terminal: Deno.stdout.isTerminal(),
  stdin: Deno.stdin.readable,
};

export async function main(args: readonly string[], out: Output = console_): Promise<number> {
  let commandLine;
  try {
    commandLine = parseCommandLine(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    out.stderr(usageErrorLines("kv", error));
    return EXIT_USAGE;
  }
  const { command } = commandLine;
  if (command?.name === "help") {
    out.stdout(USAGE);
    return 0;
  }
  const found = await findEndpoints({
    flag: commandLine.endpoints,
    env: Deno.env.get("RAFTKV_ENDPOINTS"),
    clusterFile: Deno.env.get("RAFTKV_CLUSTER_FILE") ?? DEFAULT_CLUSTER_FILE,
  });
  if (found.kind === "none") {
    out.stderr(`error: ${found.problem}`);
    return EXIT_UNAVAILABLE;
  }
  let client: KvClient;
  try {
    const access = accessOf(found, (name) => Deno.env.get(name));
    client = new KvClient({
      endpoints: found.endpoints,
      token: access.token,
      ...(access.caFile ? { tls: { caCerts: [await readCaFile(access.caFile)] } } : {}),
      onEvent: (event) => out.stderr(describeEvent(event)),
    });
  } catch (error) {
    return reportError(error, out);
  }
  try {
    if (command !== undefined) return await runCommand(client, command, out);
    // Inside the prompt, standard input is the prompt: `put KEY -` cannot read a value from it.
    const inPrompt: Output = { ...out, stdin: undefined };
    if (Deno.stdin.isTerminal() && Deno.stdout.isTerminal()) {
      out.stderr(`raft-kv client (endpoints from ${found.source}); type help for the commands`);
      const prompt = terminalLines(defaultHistoryFile());
      try {
        await runRepl(client, prompt.lines, inPrompt, prompt.showPrompt);
      } finally {
        prompt.close();
      }
      return 0;
    }
    await runRepl(client, readLines(Deno.stdin.readable), inPrompt);
    return 0;
  } finally {
    await client.close();
  }
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (error) {
    // A bug, or a closed stdout: one line, never a stack trace.
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    code = EXIT_UNAVAILABLE;
  }
  Deno.exit(code);
}

async function readCaFile(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new KvError("bad_request", 0, `cannot read the cluster CA ${path}: ${(error as Error).message}`);
  }
}

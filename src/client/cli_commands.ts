/**
 * Runs one CLI command against a KvClient and prints its outcome: results on stdout, details and
 * errors on stderr. Returns the exit code; never throws.
 */
import type { Command } from "./cli_args.ts";
import { USAGE } from "./cli_args.ts";
import { describeFailure } from "./cluster_connection.ts";
import { CasMismatchError, KvError, NotFoundError, UnknownOutcomeError } from "./errors.ts";
import type { KvClient, ServedBy } from "./kv_client.ts";
import type { ClientEvent } from "./cluster_connection.ts";
import type { ClusterStatus } from "./wire_types.ts";
import { escapeForTerminal, readValue, ValueInputError } from "./cli_values.ts";

export const EXIT_OK = 0;
export const EXIT_NOT_FOUND_OR_MISMATCH = 1;
export const EXIT_USAGE = 2;
export const EXIT_UNAVAILABLE = 3;

export interface Output {
  stdout(line: string): void;
  stderr(line: string): void;
  /** Bytes to stdout exactly as given (get --raw). */
  raw(bytes: Uint8Array): void;
  /** stdout is a terminal: values are shown with their control characters escaped. */
  terminal: boolean;
  /** put's value with `-`; absent inside the prompt, where standard input is the prompt itself. */
  stdin?: ReadableStream<Uint8Array>;
}

export async function runCommand(client: KvClient, command: Command, out: Output): Promise<number> {
  try {
    switch (command.name) {
      case "put": {
        const options = {
          node: command.node,
          ...("prevValue" in command ? { prevValue: command.prevValue } : {}),
        };
        if (command.value.from === "stdin" && out.stdin === undefined) {
          out.stderr(
            "error: put KEY - reads standard input, which is the prompt here: use --value-file FILE",
          );
          return EXIT_USAGE;
        }
        const value = await readValue(command.value, out.stdin!);
        const result = await client.put(command.key, value, options);
        out.stdout(`OK (index ${result.index})`);
        out.stderr(`(${servedBy(result)})`);
        return EXIT_OK;
      }
      case "get": {
        const result = await client.get(command.key, { node: command.node, stale: command.stale });
        if (command.raw) out.raw(new TextEncoder().encode(result.value));
        else out.stdout(out.terminal ? escapeForTerminal(result.value) : result.value);
        const modified = result.modIndex > 0
          ? `modified at index ${result.modIndex}`
          : "modification index unknown (written before the server kept it)";
        out.stderr(`(${modified}; ${servedBy(result)}, which has applied up to index ${result.index})`);
        return EXIT_OK;
      }
      case "delete": {
        const result = await client.delete(command.key, { node: command.node });
        out.stdout(`OK (index ${result.index})`);
        out.stderr(`(${servedBy(result)})`);
        return EXIT_OK;
      }
      case "status": {
        const status = await client.status(command.node);
        out.stdout(command.json ? JSON.stringify(status, null, 2) : formatStatus(status));
        return EXIT_OK;
      }
      case "help":
        out.stdout(USAGE);
        return EXIT_OK;
      case "exit":
        return EXIT_OK;
    }
  } catch (error) {
    return reportError(error, out);
  }
}

/** Prints an error as one line naming cause and fix, and picks the exit code. */
export function reportError(error: unknown, out: Output): number {
  if (error instanceof NotFoundError || error instanceof CasMismatchError) {
    out.stderr(error.message);
    return EXIT_NOT_FOUND_OR_MISMATCH;
  }
  if (error instanceof ValueInputError) {
    out.stderr(`error: ${error.message}`);
    return EXIT_USAGE;
  }
  if (error instanceof UnknownOutcomeError) {
    // The library's message advises a library call (retrying with the same sequence number); say what a
    // person at the command line can do.
    const key = error.write?.key;
    const what = error.write ? `${error.write.method === "DELETE" ? "delete" : "put"} ${key}` : "the request";
    const why = withoutLibraryAdvice(
      [...new Map(error.attempts.map((a) => [a.url, a])).values()].map(describeFailure).join("; "),
    );
    out.stderr(`error: ${what}: no definite answer from the cluster${why ? ` (${why})` : ""}`);
    out.stderr(
      key === undefined
        ? "it may or may not have been applied: check with `deno task kv status`"
        : `it may or may not have been applied: \`deno task kv get ${
          shellWord(key)
        }\` shows what is there now`,
    );
    return EXIT_UNAVAILABLE;
  }
  if (error instanceof KvError) {
    out.stderr(`error: ${withoutLibraryAdvice(error.message)}`);
    const badInput = error.status === 400 || error.status === 413 || error.status === 401 ||
      (error.status === 0 && ["bad_request", "bad_endpoint", "unknown_node"].includes(error.code));
    return badInput ? EXIT_USAGE : EXIT_UNAVAILABLE;
  }
  out.stderr(`error: ${error instanceof Error ? error.message : String(error)}`);
  return EXIT_UNAVAILABLE;
}

/** Progress lines for the client's failovers and waits, as the CLI shows them on stderr. */
export function describeEvent(event: ClientEvent): string {
  if (event.kind === "failover") {
    const { from, to } = event;
    const who = from.node === undefined ? from.url : `node ${from.node} at ${from.url}`;
    const next = to.node === undefined ? to.url : `node ${to.node}`;
    return `${who} is not answering (${from.reason}); trying ${next}`;
  }
  return `${withoutLibraryAdvice(describeFailure(event.after))}; retrying in ${
    (event.ms / 1000).toFixed(1)
  } s`;
}

function servedBy(result: ServedBy): string {
  if (result.node === undefined) return "served by an unnamed node";
  if (result.forwardedBy !== undefined) {
    return `served by node ${result.node}, forwarded by node ${result.forwardedBy}`;
  }
  const leader = result.leader !== undefined && result.leader !== 0 && result.leader !== result.node
    ? `, leader is node ${result.leader}`
    : "";
  return `served by node ${result.node}${leader}`;
}

function formatStatus(status: ClusterStatus): string {
  const conf = status.conf;
  const list = (ids: number[] | undefined) => ids && ids.length > 0 ? ids.join(",") : "-";
  const lines = [
    `node ${status.id} (${status.role}) of cluster ${status.clusterId}, term ${status.term}, ` +
    `leader ${status.leader === 0 ? "unknown" : `node ${status.leader}`}, safety mode ${status.safetyMode}`,
    `commit ${status.commit}, applied ${status.applied}, last index ${status.lastIndex}, ` +
    `snapshot ${status.snapshotIndex}`,
    `voters ${list(conf?.voters)}` +
    (conf?.joint ? ` (joint with outgoing ${list(conf.votersOutgoing)})` : "") +
    `, learners ${list(conf?.learners)}, configuration index ${conf?.index}`,
    "members:",
  ];
  const ids = Object.keys(status.members ?? {}).sort((a, b) => Number(a) - Number(b));
  for (const id of ids) {
    const member = status.members[id];
    const progress = status.progress?.[id];
    const replication = progress ? `  match ${progress.match} next ${progress.next} ${progress.state}` : "";
    lines.push(`  ${id.padStart(3)}  ${member.client}  peer ${member.peer}${replication}`);
  }
  return lines.join("\n");
}

/** A key as a shell word, for the command we suggest. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * Server and library messages advise retrying "with the same sequence number" (X-Request-Seq,
 * KvClient.retryUnknown): right for a program, meaningless at the command line, where the CLI says what to
 * run instead. Cut that advice out.
 */
export function withoutLibraryAdvice(text: string): string {
  return text
    .replace(
      /[;:,]?\s*(?:it may still apply: )?retry(?: it)? with the same (?:sequence number|X-Request-Seq)[^;)]*/gi,
      "",
    )
    .replace(/\s*\(KvClient\.\w+\)/g, "");
}

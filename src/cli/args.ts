/**
 * Flag parsing shared by the project's command-line entry points: `node:util` parseArgs, strict, with
 * one shape for every usage error (one line saying what is wrong, one saying where the help is, exit 2).
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./usage.ts";

// The usage-error shape lives in usage.ts, which loads no node: module: an entry point that may not need
// a flag parser (the checker given only file names) starts ~10 ms faster without node:util.
export * from "./usage.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses `args` strictly (unknown flags, missing values and stray positionals are usage errors). parseArgs'
 * own messages name the flag already; its advice to use `--` is kept only where positionals are allowed.
 */
export function parseFlags<O extends Options, P extends boolean = false>(
  args: readonly string[],
  options: O,
  allowPositionals?: P,
) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: allowPositionals ?? false });
  } catch (error) {
    throw new UsageError(plainMessage(error));
  }
}

/** parseArgs' message, on one line. */
export function plainMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // "Unknown option '--bogus'. To specify a positional argument starting with a '-', place it at the end
  // of the command after '--', as in '-- \"--bogus\"" is longer than it needs to be on one line.
  const ambiguous = /^Option '(--[\w-]+)[^']*' argument is ambiguous/.exec(message);
  if (ambiguous) {
    return `${ambiguous[1]} needs a value (one that starts with "-" is written ${ambiguous[1]}=-1)`;
  }
  return message.split("\n")[0].replace(/\. To specify a positional argument.*$/s, "").replace(/\.$/, "");
}

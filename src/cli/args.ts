/**
 * Flag parsing shared by the project's command-line entry points: `node:util` parseArgs, strict, with
 * one shape for every usage error (one line saying what is wrong, one saying where the help is, exit 2).
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

export const EXIT_USAGE = 2;

export class UsageError extends Error {
  override name = "UsageError";
}

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

/** A positive number from a flag's text, or a UsageError naming the flag. */
export function positiveNumber(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === "" || !(value > 0) || !Number.isFinite(value)) {
    throw new UsageError(`--${flag} takes a positive number, got "${text}"`);
  }
  return value;
}

/** A comma-separated list of positive integers ("1,8,64"), or a UsageError naming the flag. */
export function positiveIntegers(flag: string, text: string): number[] {
  const parts = text.split(",").map((part) => part.trim());
  const values = parts.map(Number);
  if (parts.some((part) => !/^\d+$/.test(part)) || values.some((v) => v <= 0)) {
    throw new UsageError(`--${flag} takes a comma-separated list of positive integers, got "${text}"`);
  }
  return values;
}

/** The two lines every CLI prints for a usage error. */
export function usageErrorLines(command: string, error: UsageError): string {
  return `error: ${error.message}\nrun \`deno task ${command} --help\` for the options`;
}

/** Runs an entry point; a UsageError from it becomes the two usage lines and exit 2. */
export async function runWithUsage(command: string, main: () => Promise<number | void>): Promise<never> {
  let code: number;
  try {
    code = (await main()) ?? 0;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(usageErrorLines(command, error));
    code = EXIT_USAGE;
  }
  Deno.exit(code);
}

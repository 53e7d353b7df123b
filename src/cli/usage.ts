/**
 * What every command-line entry point shares besides flag parsing (args.ts): the usage error, its exit
 * code and its two lines, and the checks of flag values. No node: imports here, so that loading this
 * costs nothing at start-up.
 */
export const EXIT_USAGE = 2;

export class UsageError extends Error {
  override name = "UsageError";
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

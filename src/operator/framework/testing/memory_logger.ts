import type { Logger } from "../engines/logging.ts";

/** A logger that keeps lines for assertions; set FRAMEWORK_TEST_LOG=1 to also print them. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const print = Deno.env.get("FRAMEWORK_TEST_LOG") === "1";
  const line = (level: string) => (message: string) => {
    lines.push(`${level} ${message}`);
    if (print) console.log(`${level} ${message}`);
  };
  return { lines, debug: line("DEBUG"), info: line("INFO"), warn: line("WARN"), error: line("ERROR") };
}

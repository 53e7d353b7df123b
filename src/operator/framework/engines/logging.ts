/** Where the framework and the handlers write their lines; the default is the console. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export type LogLevel = "debug" | "info" | "warn" | "error";
const LEVELS: LogLevel[] = ["debug", "info", "warn", "error"];

/** Console lines like `2026-01-01T00:00:00.000Z INFO  [default/w1] message`, filtered by level. */
export function consoleLogger(minimum: LogLevel = "info", prefix = ""): Logger {
  const line = (level: LogLevel) => (message: string) => {
    if (LEVELS.indexOf(level) < LEVELS.indexOf(minimum)) return;
    const text = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${prefix}${message}`;
    if (level === "error" || level === "warn") console.error(text);
    else console.log(text);
  };
  return { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") };
}

/** A logger that prefixes every line with `[namespace/name]`, for one object's handlers. */
export function objectLogger(base: Logger, key: string): Logger {
  return {
    debug: (m) => base.debug(`[${key}] ${m}`),
    info: (m) => base.info(`[${key}] ${m}`),
    warn: (m) => base.warn(`[${key}] ${m}`),
    error: (m) => base.error(`[${key}] ${m}`),
  };
}

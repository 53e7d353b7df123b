/**
 * Log lines on stderr, in one of two formats (`--log-format`):
 *   text  `2026-01-01T00:00:00.000Z info  [node 1] message`, for people and grep
 *   json  one object a line, for a log pipeline:
 *         {"time":"2026-...Z","level":"info","component":"server","node":1,"term":3,"message":"..."}
 * The JSON keys are the same for the server, the operator and the local supervisor; `node` and `term` are
 * null where they do not apply (the operator, a server without an identity yet).
 */
import type { Log, LogLevel } from "../kv/raft_kv_node.ts";

export type LogFormat = "text" | "json";
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface LogContext {
  component: "server" | "operator" | "supervisor";
  node?: number;
  term?: number;
}

export function parseLogFormat(text: string): LogFormat {
  if ((LOG_FORMATS as readonly string[]).includes(text)) return text as LogFormat;
  throw new Error(`--log-format takes text or json, got "${text}"`);
}

/** One line, without its newline. `textPrefix` names the source in the text format (e.g. "node 1"). */
export function formatLogLine(
  format: LogFormat,
  level: LogLevel,
  message: string,
  context: LogContext,
  textPrefix: string,
  now = new Date(),
): string {
  if (format === "json") {
    return JSON.stringify({
      time: now.toISOString(),
      level,
      component: context.component,
      node: context.node ?? null,
      term: context.term ?? null,
      message,
    });
  }
  return `${now.toISOString()} ${level.padEnd(5)} ${textPrefix ? `[${textPrefix}] ` : ""}${message}`;
}

/** The server's logger: `context` is asked at each line (the node id and term change over time). */
export function makeLogger(
  minimum: LogLevel,
  format: LogFormat,
  context: () => LogContext,
  write: (line: string) => void = (line) => console.error(line),
): Log {
  return (level, message) => {
    if (RANK[level] < RANK[minimum]) return;
    const c = context();
    write(
      formatLogLine(format, level, message, c, c.node === undefined ? "uninitialized" : `node ${c.node}`),
    );
  };
}

/** The same lines as four methods (the operator framework's Logger shape), for the operator and the supervisor. */
export function levelLogger(
  minimum: LogLevel,
  format: LogFormat,
  context: () => LogContext,
  write: (line: string) => void = (line) => console.error(line),
): Record<LogLevel, (message: string) => void> {
  const log = makeLogger(minimum, format, context, write);
  return {
    debug: (m) => log("debug", m),
    info: (m) => log("info", m),
    warn: (m) => log("warn", m),
    error: (m) => log("error", m),
  };
}

/** Plain, greppable log lines on stderr: time, level, node, message. */
import type { Log, LogLevel } from "../kv/raft_kv_node.ts";

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function makeLogger(minimum: LogLevel, who: () => string): Log {
  return (level, line) => {
    if (RANK[level] < RANK[minimum]) return;
    console.error(`${new Date().toISOString()} ${level.padEnd(5)} [${who()}] ${line}`);
  };
}

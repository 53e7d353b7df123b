/**
 * `deno task check <history> [--html out.html] [--timeout 60s] [--model kv|register] [--workers n]`
 * Exit code: 0 linearizable, 1 not linearizable, 2 unknown or unreadable input. One verdict line on
 * stdout; progress on stderr when the check takes a while.
 */
import { checkHistory, CheckInputError, type CheckResult, DEFAULT_TIMEOUT_MS } from "./checker.ts";
import { HistoryFormatError, type ParsedHistory } from "./history.ts";
import { loadHistoryFile } from "./load_history.ts";
import type { Model } from "./model.ts";
import { modelByName, MODELS } from "./models.ts";
import { renderReportHtml } from "./report_html.ts";
import { verdictLine } from "./summary.ts";

const USAGE = `usage: deno task check <history> [--html out.html] [--timeout 60s] [--model ${
  Object.keys(MODELS).join("|")
}] [--workers n]
  <history>     JSON Lines (see src/check/history.ts) or Jepsen-style EDN lines
  --html FILE   also write a self-contained HTML page with a timeline per key
  --timeout T   time budget, e.g. 500ms, 60s, 2m (default ${
  DEFAULT_TIMEOUT_MS / 1000
}s); past it the verdict is unknown
  --model M     ${Object.values(MODELS).map((m) => `${m.name}: ${m.about}`).join("\n                ")}
                default: the history's "meta" line, else register if it has read/write ops, else kv
  --workers N   check keys on N worker threads (default 0: one thread; workers pay off only with free cores)
exit code: 0 linearizable, 1 not linearizable, 2 unknown or bad input`;

class UsageError extends Error {}

interface Options {
  path: string;
  html?: string;
  timeoutMs: number;
  model?: string;
  workers?: number;
}

export async function main(args: string[]): Promise<number> {
  let options: Options;
  try {
    options = parseArgs(args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`error: ${e.message}\n${USAGE}`);
    return 2;
  }
  if (options.path === "--help") {
    console.log(USAGE);
    return 0;
  }
  try {
    const parsed = await loadHistoryFile(options.path);
    const model = pickModel(options.model ?? parsed.model, parsed);
    const result = await checkHistory(parsed.history, {
      model,
      timeoutMs: options.timeoutMs,
      workers: options.workers,
      onProgress: progressPrinter(),
    });
    const line = verdictLine(result);
    console.log(line);
    if (options.html) await writeReport(options.html, result, model, options.path, line, parsed);
    return result.verdict === "linearizable" ? 0 : result.verdict === "not linearizable" ? 1 : 2;
  } catch (e) {
    if (
      e instanceof HistoryFormatError || e instanceof CheckInputError || e instanceof UsageError ||
      e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied
    ) {
      console.error(`error: ${e.message}`);
      return 2;
    }
    // Anything else is a bug in the checker: say so in one line; CHECK_DEBUG=1 shows the stack.
    console.error(`internal error in the checker: ${(e as Error).message ?? e} (CHECK_DEBUG=1 shows where)`);
    if (Deno.env.get("CHECK_DEBUG")) console.error((e as Error).stack);
    return 2;
  }
}

function parseArgs(args: string[]): Options {
  let path: string | undefined;
  const options: Partial<Options> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined || v.startsWith("--")) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    if (arg === "--help" || arg === "-h") return { path: "--help", timeoutMs: 0 };
    else if (arg === "--html") options.html = value();
    else if (arg === "--timeout") options.timeoutMs = parseDuration(value());
    else if (arg === "--model") options.model = value();
    else if (arg === "--workers") {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 0) {
        throw new UsageError(`--workers needs a whole number >= 0, got ${args[i]}`);
      }
      options.workers = n;
    } else if (arg.startsWith("--")) throw new UsageError(`unknown option ${arg}`);
    else if (path === undefined) path = arg;
    else throw new UsageError(`one history file at a time (got ${path} and ${arg})`);
  }
  if (path === undefined) throw new UsageError("which history? give a file");
  if (options.model !== undefined && !(options.model in MODELS)) {
    throw new UsageError(`unknown model "${options.model}": use one of ${Object.keys(MODELS).join(", ")}`);
  }
  return { path, timeoutMs: DEFAULT_TIMEOUT_MS, ...options };
}

/** "500ms", "60s", "2m" or a plain number of seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new UsageError(`--timeout: cannot read "${text}": write e.g. 500ms, 60s or 2m`);
  const n = Number(m[1]);
  return m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000;
}

function pickModel(name: string | undefined, parsed: ParsedHistory): Model {
  if (name !== undefined) {
    if (!(name in MODELS)) {
      throw new UsageError(`the history asks for model "${name}", which does not exist: use --model`);
    }
    return modelByName(name);
  }
  const registerLike = parsed.history.operations.some((o) => o.op === "read" || o.op === "write");
  return modelByName(registerLike ? "register" : "kv");
}

/** Prints "checked i/n keys" on stderr at most once a second, once the check has run for a second. */
function progressPrinter() {
  const started = performance.now();
  let lastPrint = started;
  return (done: number, total: number) => {
    const now = performance.now();
    if (now - started < 1000 || (now - lastPrint < 1000 && done < total)) return;
    lastPrint = now;
    console.error(`checked ${done}/${total} keys (${((now - started) / 1000).toFixed(1)} s)`);
  };
}

async function writeReport(
  path: string,
  result: CheckResult,
  model: Model,
  source: string,
  headline: string,
  parsed: ParsedHistory,
): Promise<void> {
  const html = renderReportHtml(result, model, {
    title: source,
    headline,
    annotations: parsed.history.annotations,
  });
  try {
    await Deno.writeTextFile(path, html);
  } catch (e) {
    throw new HistoryFormatError(`cannot write the HTML report to ${path}: ${(e as Error).message}`);
  }
  console.error(`wrote ${path}`);
}

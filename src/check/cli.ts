/**
 * `deno task check <history>... [--html PATH] [--timeout 60s] [--model kv|register] [--workers n]`
 * Exit code: 0 every history linearizable, 1 one is not, 2 none is not but one is unknown or unreadable.
 * One verdict line per history on stdout (prefixed by its file name when there are several); progress on
 * stderr when a check takes a while. Several files in one call share one start-up (the runtime and a
 * warmed-up search), which is most of the cost of a small history.
 */
import { EXIT_USAGE, UsageError, usageErrorLines } from "../cli/usage.ts";
import { checkHistory, CheckInputError, type CheckResult, DEFAULT_TIMEOUT_MS } from "./checker.ts";
import { HistoryFormatError, type ParsedHistory } from "./history.ts";
import { loadHistoryFile } from "./load_history.ts";
import type { Model } from "./model.ts";
import { modelByName, MODELS } from "./models.ts";
import { verdictLine } from "./summary.ts";

const USAGE = `usage: deno task check <history>... [--html PATH] [--timeout 60s] [--model ${
  Object.keys(MODELS).join("|")
}] [--workers n]
  <history>...  JSON Lines (see src/check/history.ts) or Jepsen-style EDN lines; several files are checked
                one after the other in this one process, each with its own verdict line
  --html PATH   also write a self-contained HTML page with a timeline per key (several histories: PATH is
                a directory, one page per history named after it)
  --timeout T   time budget per history, e.g. 500ms, 60s, 2m (default ${
  DEFAULT_TIMEOUT_MS / 1000
}s); past it the verdict is unknown
  --model M     ${Object.values(MODELS).map((m) => `${m.name}: ${m.about}`).join("\n                ")}
                default: the history's "meta" line, else register if it has read/write ops, else kv
  --workers N   check keys on N worker threads (default 0: one thread; workers pay off only with free cores)
exit code: 0 all linearizable, 1 one or more not linearizable, 2 otherwise unknown or bad input`;

interface Options {
  paths: string[];
  html?: string;
  timeoutMs: number;
  model?: string;
  workers?: number;
}

const EXIT_LINEARIZABLE = 0;
const EXIT_VIOLATION = 1;
const EXIT_UNKNOWN = 2;

export async function main(args: string[]): Promise<number> {
  let options: Options | "help";
  try {
    options = await parseCommandLine(args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(usageErrorLines("check", e));
    return EXIT_USAGE;
  }
  if (options === "help") {
    console.log(USAGE);
    return 0;
  }
  const several = options.paths.length > 1;
  if (several && options.html !== undefined) await Deno.mkdir(options.html, { recursive: true });
  const codes: number[] = [];
  for (const path of options.paths) {
    const html = options.html === undefined
      ? undefined
      : several
      ? htmlPathFor(options.html, path)
      : options.html;
    codes.push(await checkOne(path, options, html, several ? `${path}: ` : ""));
  }
  if (several) {
    const count = (code: number) => codes.filter((c) => c === code).length;
    console.error(
      `${options.paths.length} histories: ${count(EXIT_LINEARIZABLE)} linearizable, ` +
        `${count(EXIT_VIOLATION)} not linearizable, ${count(EXIT_UNKNOWN)} unknown or unreadable`,
    );
  }
  // A violation anywhere is the answer; else an undecided file; else all clear.
  return codes.includes(EXIT_VIOLATION) ? EXIT_VIOLATION : codes.includes(EXIT_UNKNOWN) ? EXIT_UNKNOWN : 0;
}

async function checkOne(path: string, options: Options, html: string | undefined, prefix: string) {
  try {
    const parsed = await loadHistoryFile(path);
    const model = pickModel(options.model ?? parsed.model, parsed);
    const result = await checkHistory(parsed.history, {
      model,
      timeoutMs: options.timeoutMs,
      workers: options.workers,
      onProgress: progressPrinter(prefix),
    });
    const line = verdictLine(result);
    console.log(prefix + line);
    if (html) await writeReport(html, result, model, path, line, parsed);
    return result.verdict === "linearizable"
      ? EXIT_LINEARIZABLE
      : result.verdict === "not linearizable"
      ? EXIT_VIOLATION
      : EXIT_UNKNOWN;
  } catch (e) {
    if (
      e instanceof HistoryFormatError || e instanceof CheckInputError || e instanceof UsageError ||
      e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied
    ) {
      console.error(`error: ${e.message}`);
      return EXIT_UNKNOWN;
    }
    // Anything else is a bug in the checker: say so in one line; CHECK_DEBUG=1 shows the stack.
    console.error(
      `${prefix}internal error in the checker: ${(e as Error).message ?? e} (CHECK_DEBUG=1 shows where)`,
    );
    if (Deno.env.get("CHECK_DEBUG")) console.error((e as Error).stack);
    return EXIT_UNKNOWN;
  }
}

async function parseCommandLine(args: string[]): Promise<Options | "help"> {
  // Only file names (the usual call, often from a script checking many small histories): no flag parser.
  // The parser needs node:util, whose loading is ~10 ms of a ~100 ms check of a small history.
  if (args.length > 0 && args.every((arg) => !arg.startsWith("-"))) {
    return { paths: args, timeoutMs: DEFAULT_TIMEOUT_MS };
  }
  const { parseFlags } = await import("../cli/args.ts");
  const { values, positionals } = parseFlags(args, {
    html: { type: "string" },
    timeout: { type: "string" },
    model: { type: "string" },
    workers: { type: "string" },
    help: { type: "boolean", short: "h" },
  }, true);
  if (values.help) return "help";
  if (positionals.length === 0) throw new UsageError("which history? give one or more files");
  if (values.model !== undefined && !(values.model in MODELS)) {
    throw new UsageError(`unknown model "${values.model}": use one of ${Object.keys(MODELS).join(", ")}`);
  }
  let workers: number | undefined;
  if (values.workers !== undefined) {
    workers = Number(values.workers);
    if (!/^\d+$/.test(values.workers)) {
      throw new UsageError(`--workers takes a whole number >= 0, got "${values.workers}"`);
    }
  }
  return {
    paths: positionals,
    html: values.html,
    timeoutMs: values.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseDuration(values.timeout),
    model: values.model,
    workers,
  };
}

/** "500ms", "60s", "2m" or a plain number of seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new UsageError(`--timeout: cannot read "${text}": write e.g. 500ms, 60s or 2m`);
  const n = Number(m[1]);
  return m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000;
}

/** dir/<file name without its extension>.html */
function htmlPathFor(dir: string, historyPath: string): string {
  const base = historyPath.split("/").pop()!.replace(/\.[^.]*$/, "");
  return `${dir.replace(/\/$/, "")}/${base}.html`;
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
function progressPrinter(prefix: string) {
  const started = performance.now();
  let lastPrint = started;
  return (done: number, total: number) => {
    const now = performance.now();
    if (now - started < 1000 || (now - lastPrint < 1000 && done < total)) return;
    lastPrint = now;
    console.error(`${prefix}checked ${done}/${total} keys (${((now - started) / 1000).toFixed(1)} s)`);
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
  // Loaded only when a page is asked for: it is most of the checker's code, and start-up counts for small files.
  const { renderReportHtml } = await import("./report_html.ts");
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

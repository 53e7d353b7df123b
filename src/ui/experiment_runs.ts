/**
 * Experiment runs for replay: the bug1/bug2 results that `deno task experiment` writes to
 * bench-results/ (or RAFTKV_RESULTS_DIR): <bug>-<mode>.json (verdict, counts), .jsonl (the
 * recorded history with the fault timeline as notes) and .html (the checker's report).
 */
import { parseJsonlHistory } from "../check/history.ts";
import type { ExperimentRun, ExperimentSummary } from "./replay_types.ts";

const NAME = /^[A-Za-z0-9_.-]+$/;
/** Operations sent to the page at most (the timeline gets unreadable long before). */
const MAX_OPERATIONS = 6000;

export class ExperimentNotFound extends Error {}

function checkName(name: string): void {
  if (!NAME.test(name)) throw new ExperimentNotFound(`"${name}" is not an experiment run name`);
}

async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch {
    return undefined;
  }
}

/** A file the results name by absolute path (maybe from another checkout), else beside the JSON. */
async function locate(recorded: unknown, fallback: string): Promise<string | undefined> {
  for (const path of [recorded, fallback]) {
    if (typeof path !== "string") continue;
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch { /* try the next */ }
  }
  return undefined;
}

function summaryOf(name: string, json: Record<string, unknown>): ExperimentSummary | undefined {
  if (typeof json.bug !== "string" || typeof json.mode !== "string" || typeof json.verdict !== "string") {
    return undefined;
  }
  const machine = json.machine as { date?: string } | undefined;
  const ops = json.operations as { total?: number } | undefined;
  return {
    name,
    bug: json.bug,
    mode: json.mode,
    verdict: json.verdict,
    verdictLine: String(json.verdictLine ?? json.verdict),
    date: machine?.date,
    operations: ops?.total,
    sideLeaderElected: json.sideLeaderElected === true,
  };
}

export class ExperimentRuns {
  constructor(readonly dir: string) {}

  async list(): Promise<ExperimentSummary[]> {
    const out: ExperimentSummary[] = [];
    try {
      for await (const entry of Deno.readDir(this.dir)) {
        if (!entry.isFile || !entry.name.endsWith(".json")) continue;
        const name = entry.name.slice(0, -5);
        const json = await readJson(`${this.dir}/${entry.name}`);
        const summary = json && summaryOf(name, json);
        if (summary) out.push(summary);
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  async load(name: string): Promise<ExperimentRun> {
    checkName(name);
    const json = await readJson(`${this.dir}/${name}.json`);
    const summary = json && summaryOf(name, json);
    if (!json || !summary) throw new ExperimentNotFound(`no experiment run "${name}" in ${this.dir}`);
    const historyPath = await locate(json.history, `${this.dir}/${name}.jsonl`);
    const reportPath = await this.reportPath(name);
    if (!historyPath) {
      return {
        summary,
        reportAvailable: reportPath !== undefined,
        notes: [],
        operations: [],
        omitted: 0,
        missing:
          `its history (${name}.jsonl) is not in ${this.dir}: run "deno task experiment ${summary.bug}" again`,
      };
    }
    const { history } = parseJsonlHistory(await Deno.readTextFile(historyPath), historyPath);
    const start = Math.min(
      ...history.operations.map((o) => o.call),
      ...history.annotations.map((a) => a.time),
    );
    const badOp = /\(client [^,]+, op (\d+)\)/.exec(summary.verdictLine)?.[1];
    const operations = history.operations.slice(0, MAX_OPERATIONS).map((o) => ({
      id: o.id,
      client: String(o.client),
      op: o.op,
      key: o.key,
      status: o.status,
      output: o.output === undefined ? undefined : String(o.output),
      call: o.call - start,
      ret: Number.isFinite(o.ret) ? o.ret - start : undefined,
    }));
    return {
      summary,
      reportAvailable: reportPath !== undefined,
      notes: history.annotations.map((a) => ({ time: a.time - start, text: a.text })),
      operations,
      omitted: history.operations.length - operations.length,
      badOperation: badOp === undefined ? undefined : Number(badOp),
    };
  }

  /** The checker's HTML report of a run, if it is there. */
  async reportPath(name: string): Promise<string | undefined> {
    checkName(name);
    const json = await readJson(`${this.dir}/${name}.json`);
    return await locate(json?.html, `${this.dir}/${name}.html`);
  }
}

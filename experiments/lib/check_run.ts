/**
 * Checks a recorded history with the linearizability checker and writes the evidence next to
 * the other results: bench-results/<name>.jsonl (the history), .html (the picture) and .json
 * (counts, verdict, fault timeline).
 */
import { parseJsonlHistory } from "../../src/check/history.ts";
import { checkHistory, type CheckResult } from "../../src/check/checker.ts";
import { modelByName } from "../../src/check/models.ts";
import { renderReportHtml } from "../../src/check/report_html.ts";
import { verdictLine } from "../../src/check/summary.ts";
import type { HistoryRecorder } from "../../src/check/history.ts";
import { writeResults } from "./results.ts";

const RESULTS_DIR = new URL("../../bench-results/", import.meta.url).pathname;

export interface CheckedRun {
  result: CheckResult;
  verdict: string;
  historyPath: string;
  htmlPath: string;
}

export async function checkAndReport(
  name: string,
  recorder: HistoryRecorder,
  summary: Record<string, unknown>,
  timeoutMs = 60_000,
): Promise<CheckedRun> {
  await Deno.mkdir(RESULTS_DIR, { recursive: true });
  const jsonl = recorder.toJsonl();
  const historyPath = `${RESULTS_DIR}${name}.jsonl`;
  await Deno.writeTextFile(historyPath, jsonl);
  const parsed = parseJsonlHistory(jsonl, historyPath);
  const model = modelByName("kv");
  const result = await checkHistory(parsed.history, { model, timeoutMs });
  const verdict = verdictLine(result);
  const htmlPath = `${RESULTS_DIR}${name}.html`;
  await Deno.writeTextFile(
    htmlPath,
    renderReportHtml(result, model, {
      title: name,
      headline: verdict,
      annotations: parsed.history.annotations,
    }),
  );
  await writeResults(name, {
    ...summary,
    verdict: result.verdict,
    verdictLine: verdict,
    history: historyPath,
    html: htmlPath,
  });
  return { result, verdict, historyPath, htmlPath };
}

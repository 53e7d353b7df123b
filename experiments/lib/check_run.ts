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
import { relativeToRepo, resultsDir, writeResults } from "./results.ts";

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
  const dir = resultsDir();
  await Deno.mkdir(dir, { recursive: true });
  const jsonl = recorder.toJsonl();
  const historyPath = `${dir}${name}.jsonl`;
  await Deno.writeTextFile(historyPath, jsonl);
  const parsed = parseJsonlHistory(jsonl, historyPath);
  const model = modelByName("kv");
  const result = await checkHistory(parsed.history, { model, timeoutMs });
  const verdict = verdictLine(result);
  const htmlPath = `${dir}${name}.html`;
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
    history: relativeToRepo(historyPath),
    html: relativeToRepo(htmlPath),
  });
  return { result, verdict, historyPath: relativeToRepo(historyPath), htmlPath: relativeToRepo(htmlPath) };
}

/**
 * Reads a history file in either format, told apart by its first event line: JSON Lines (history.ts)
 * start with `{"`, Jepsen-style EDN (jepsen_history.ts) with `{:`.
 */
import { HistoryFormatError, type ParsedHistory, parseJsonlHistory } from "./history.ts";
import { parseJepsenHistory } from "./jepsen_history.ts";

export function parseHistoryText(text: string, source = "history"): ParsedHistory {
  const first = text.split("\n").map((l) => l.trim()).find((l) => l !== "" && !l.startsWith(";"));
  if (first === undefined) throw new HistoryFormatError(`${source}: the history is empty`);
  if (/^\{\s*:/.test(first)) return parseJepsenHistory(text, source);
  if (/^\{\s*"/.test(first)) return parseJsonlHistory(text, source);
  throw new HistoryFormatError(
    `${source}: not a history: expected JSON Lines ({"type":"call",...}) or Jepsen EDN ({:process 0, :type :invoke, ...})`,
  );
}

export async function loadHistoryFile(path: string): Promise<ParsedHistory> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new HistoryFormatError(`${path}: no such file`);
    if (e instanceof Deno.errors.PermissionDenied) throw new HistoryFormatError(`${path}: permission denied`);
    if (e instanceof Deno.errors.IsADirectory) {
      throw new HistoryFormatError(`${path}: is a directory, not a history file`);
    }
    throw new HistoryFormatError(`${path}: cannot read it (${(e as Error).message})`);
  }
  return parseHistoryText(text, path);
}

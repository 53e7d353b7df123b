/**
 * Reads a history file in either format, told apart by its first event line: JSON Lines (history.ts)
 * start with `{"`, Jepsen-style EDN (jepsen_history.ts) with `{:`.
 */
import { HistoryFormatError, type ParsedHistory, parseJsonlHistory } from "./history.ts";
import { parseJepsenHistory } from "./jepsen_history.ts";

export function parseHistoryText(text: string, source = "history"): ParsedHistory {
  const first = firstEventLine(text);
  if (first === undefined) throw new HistoryFormatError(`${source}: the history is empty`);
  if (/^\{\s*:/.test(first)) return parseJepsenHistory(text, source);
  if (/^\{\s*"/.test(first)) return parseJsonlHistory(text, source);
  throw new HistoryFormatError(
    `${source}: not a history: expected JSON Lines ({"type":"call",...}) or Jepsen EDN ({:process 0, :type :invoke, ...})`,
  );
}

/** The first line that is neither blank nor a comment, found without splitting the whole text. */
function firstEventLine(text: string): string | undefined {
  for (let start = 0; start < text.length;) {
    const end = text.indexOf("\n", start);
    const line = text.slice(start, end === -1 ? text.length : end).trim();
    if (line !== "" && !line.startsWith(";")) return line;
    if (end === -1) break;
    start = end + 1;
  }
  return undefined;
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

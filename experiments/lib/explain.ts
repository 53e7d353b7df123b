/**
 * A verdict in words, from what the clients were told: the checker says a history has no
 * linearization; these say what went wrong in terms a student follows (which acknowledged write a
 * read missed and who served it; which two writes were committed at the same log index by two
 * leaders). They read the workload's acknowledged operations, not the servers' logs.
 */
import type { Acknowledged } from "./workload.ts";

/** Who served a side of the partition: "node 1 (leader in term 2)". */
export interface SideLeader {
  endpoint: string;
  description: string;
}

const at = (t: number, t0: number) => `${((t - t0) / 1000).toFixed(2)} s`;
const shown = (v: string) => v === "" ? "nothing (the key did not exist)" : `"${v}"`;

/**
 * The first read (on `stale.endpoint`) that returned an older value than a write acknowledged
 * (on `fresh.endpoint`) before the read began.
 */
export function explainStaleRead(
  acks: Acknowledged[],
  t0: number,
  fresh: SideLeader,
  stale: SideLeader,
): string | undefined {
  const writes = acks.filter((a) => a.op === "put" || a.op === "cas" || a.op === "delete");
  const reads = acks.filter((a) => a.op === "get" && a.endpoint === stale.endpoint).sort((a, b) =>
    a.call - b.call
  );
  for (const r of reads) {
    const before = writes.filter((w) => w.key === r.key && w.ret < r.call && w.endpoint === fresh.endpoint);
    const missed = before.sort((a, b) => b.ret - a.ret)[0];
    if (!missed || missed.value === r.value) continue;
    // The value read must come from a write that finished before the missed one began (one that
    // overlapped it may legitimately be ordered after it).
    const source = writes.find((w) => w.key === r.key && w.value === r.value);
    if (source && source.ret > missed.call) continue;
    return `Stale read: at ${
      at(r.call, t0)
    } client ${r.client} read key ${r.key} from ${stale.description} and got ` +
      `${shown(r.value)}, but the write ${r.key} = ${shown(missed.value)} had already been acknowledged at ` +
      `${at(missed.ret, t0)} by ${fresh.description}${
        missed.index ? ` at log index ${missed.index}` : ""
      }. ` +
      "The read was served by a leader that had been elected without that committed entry.";
  }
  return undefined;
}

/**
 * Two different writes acknowledged at the same log index by the two sides' leaders while cut off
 * (between `since` and `until`); failing an exact match, the writes each side acknowledged then.
 */
export function explainSplitBrain(
  acks: Acknowledged[],
  t0: number,
  a: SideLeader,
  b: SideLeader,
  since = t0,
  until = Infinity,
): string | undefined {
  // Only what was acknowledged while the two sides were cut off (after healing they share a log).
  const writes = acks.filter((w) =>
    w.index !== undefined && (w.op === "put" || w.op === "cas") && w.call >= since && w.ret < until
  );
  const onA = new Map(writes.filter((w) => w.endpoint === a.endpoint).map((w) => [w.index!, w]));
  for (const w of writes.filter((w) => w.endpoint === b.endpoint).sort((x, y) => x.index! - y.index!)) {
    const other = onA.get(w.index!);
    if (!other || (other.key === w.key && other.value === w.value)) continue;
    return `Split brain: log index ${w.index} was committed twice. ${a.description} acknowledged ` +
      `${other.key} = ${shown(other.value)} there at ${at(other.ret, t0)}; ${b.description} acknowledged ` +
      `${w.key} = ${shown(w.value)} at the same index at ${at(w.ret, t0)}. Two majorities that do not ` +
      "intersect each committed their own entry, so one of them is lost when the partition heals.";
  }
  const after = (side: SideLeader) => writes.filter((w) => w.endpoint === side.endpoint);
  const [wa, wb] = [after(a), after(b)];
  if (!wa.length || !wb.length) return undefined;
  const span = (
    ws: Acknowledged[],
  ) => [Math.min(...ws.map((w) => w.index!)), Math.max(...ws.map((w) => w.index!))];
  const [sa, sb] = [span(wa), span(wb)];
  const overlap = [Math.max(sa[0], sb[0]), Math.min(sa[1], sb[1])];
  const range = (ws: Acknowledged[], s: number[]) => `${ws.length} writes at log indexes ${s[0]}-${s[1]}`;
  return `Split brain: while cut off, both sides committed writes. ${a.description} acknowledged ` +
    `${range(wa, sa)} (first: ${wa[0].key} = ${shown(wa[0].value)} at ${
      at(wa[0].ret, t0)
    }); ${b.description} ` +
    `acknowledged ${range(wb, sb)} (first: ${wb[0].key} = ${shown(wb[0].value)} at ${at(wb[0].ret, t0)}). ` +
    (overlap[0] <= overlap[1]
      ? `From index ${overlap[0]} to ${
        overlap[1]
      } the same log positions hold different entries on the two sides, `
      : "The two logs grew apart from the same point, ") +
    "so one side's acknowledged writes are lost when the partition heals.";
}

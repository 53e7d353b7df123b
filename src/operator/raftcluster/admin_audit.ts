/**
 * Audits the admin calls the nodes recorded (GET /admin/calls on the admin port) for the operator's
 * fencing test: which replica issued what, for which step, and whether the configuration changes
 * they made form one chain.
 *
 * - Two replicas never act for one step: each step label (the operator sends its workflow step and
 *   configuration index with every call) has calls from one replica only.
 * - Fenced means fenced: once the replica that took over issued its first call, the replica it took
 *   over from issues none (the nodes' clocks are compared; in these tests they share one host).
 * - No repeat, no gap: sorted by index, every configuration change was proposed on the one before it
 *   (its `previousIndex` is the previous change's index) and no index was produced twice.
 */
import type { AdminCallRecord } from "../../server/admin_call_log.ts";

/** The admin calls that change the configuration (the others change leadership or identities). */
const CONF_PATHS = [
  /^\/admin\/learners$/,
  /^\/admin\/joint$/,
  /^\/admin\/leave-joint$/,
  /^\/admin\/members\/\d+$/,
];
const isConfCall = (r: AdminCallRecord) => CONF_PATHS.some((p) => p.test(r.path));

/** Merges records fetched at different times from different nodes (each record once). */
export class AdminCallCollector {
  readonly #records = new Map<string, AdminCallRecord>();

  add(records: AdminCallRecord[]): void {
    for (const r of records) this.#records.set(`${r.node}/${r.seq}/${r.at}`, r);
  }

  get records(): AdminCallRecord[] {
    return [...this.#records.values()].sort((a, b) => a.at.localeCompare(b.at));
  }
}

export interface AuditResult {
  /** Configuration changes, in index order: [previousIndex, index, caller, step]. */
  chain: { previousIndex: number; index: number; caller?: string; step?: string }[];
  /** Everything wrong, in words; empty when the audit passes. */
  problems: string[];
}

/** `takeover`: the replica that took over from `from` (its first call marks the fence). */
export function auditAdminCalls(
  records: AdminCallRecord[],
  takeover?: { from: string; to: string },
): AuditResult {
  const problems: string[] = [];
  const describe = (r: AdminCallRecord) =>
    `${r.method} ${r.path} by ${r.caller ?? "?"} at ${r.at} on node ${r.node} (step ${r.step ?? "?"})`;

  const callers = new Map<string, Set<string>>();
  for (const r of records) {
    if (!r.caller || !r.step) continue;
    const set = callers.get(r.step) ?? new Set();
    set.add(r.caller);
    callers.set(r.step, set);
  }
  for (const [step, set] of callers) {
    if (set.size > 1) problems.push(`step "${step}" was acted on by ${[...set].join(" and ")}`);
  }

  if (takeover) {
    const firstOfNew = records.filter((r) => r.caller === takeover.to).map((r) => r.at).sort()[0];
    if (firstOfNew) {
      for (const r of records) {
        if (r.caller === takeover.from && r.at >= firstOfNew) {
          problems.push(
            `${takeover.from} acted after ${takeover.to} took over at ${firstOfNew}: ${describe(r)}`,
          );
        }
      }
    }
  }

  const changes = records.filter((r) => r.status === 200 && r.changed && r.previousIndex !== undefined)
    .sort((a, b) => a.index! - b.index!);
  for (const r of records.filter((r) => isConfCall(r) && r.status === 200 && r.changed)) {
    if (r.previousIndex === undefined) {
      problems.push(`a configuration change with no previousIndex: ${describe(r)}`);
    }
  }
  const chain = changes.map((r) => ({
    previousIndex: r.previousIndex!,
    index: r.index!,
    caller: r.caller,
    step: r.step,
  }));
  for (let i = 1; i < changes.length; i++) {
    const before = changes[i - 1], now = changes[i];
    if (now.index === before.index) {
      problems.push(`configuration index ${now.index} produced twice: ${describe(before)}; ${describe(now)}`);
    } else if (now.previousIndex !== before.index) {
      // A call whose answer was lost (it failed or timed out at the node, yet its change committed)
      // leaves such a gap; it is still a finding, named with the calls that failed around it.
      const failed = records.filter((r) =>
        isConfCall(r) && r.status !== 200 && r.at >= before.at && r.at <= now.at
      );
      problems.push(
        `gap: the change at ${now.index} was proposed on ${now.previousIndex}, but the previous recorded change ` +
          `made ${before.index} (${describe(now)})` +
          (failed.length ? `; failed calls between: ${failed.map(describe).join("; ")}` : ""),
      );
    }
  }
  return { chain, problems };
}

/** The one-line verdict printed by the CLI and shown at the top of the HTML report. */
import type { CheckResult } from "./checker.ts";
import { describeOperation } from "./operation.ts";

export function verdictLine(result: CheckResult): string {
  const keys = result.partitions.length;
  const took = `checked in ${(result.elapsedMs / 1000).toFixed(2)} s`;
  const scope = `${result.operationCount} operations on ${keys} key${keys === 1 ? "" : "s"}`;
  if (result.verdict === "linearizable") return `linearizable: ${scope}, ${took}`;
  if (result.verdict === "not linearizable") {
    const failing = result.partitions.filter((p) => p.verdict === "not linearizable").length;
    // Mostly keys left once the verdict was known (check_partitions.ts): they may fail too.
    const open = result.partitions.filter((p) => p.verdict === "unknown").length;
    const undecided = open > 0 ? ` (${open} undecided)` : "";
    const c = result.counterexample!;
    const op = c.operations.find((o) => o.id === c.breakingOpId);
    const where = op ? ` breaks at ${describeOperation(op)} (client ${op.client}, op ${op.id})` : "";
    return `NOT linearizable: key ${JSON.stringify(c.key)} (${c.operations.length} ops)${where} after a ` +
      `${c.linearization.length}-op linearizable prefix; ${failing} of ${keys} keys fail${undecided}; ${scope}, ${took}`;
  }
  const open = result.partitions.filter((p) => p.verdict === "unknown");
  const reasons = [...new Set(open.map((p) => p.reason ?? "unknown"))].join("; ");
  return `unknown: no violation found, but ${open.length} of ${keys} keys could not be decided (${reasons}); ` +
    `${scope}, ${took}. Give it more time with --timeout`;
}

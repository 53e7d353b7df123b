import assert from "node:assert/strict";
import type { AdminCallRecord } from "../../server/admin_call_log.ts";
import { AdminCallCollector, auditAdminCalls } from "./admin_audit.ts";

let seq = 0;
const call = (
  at: number,
  caller: string,
  step: string,
  change?: [number, number],
  status = 200,
  path = "/admin/joint",
): AdminCallRecord => ({
  seq: ++seq,
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, at)).toISOString(),
  end: new Date(Date.UTC(2026, 0, 1, 0, 0, at)).toISOString(),
  node: 1,
  caller,
  step,
  method: "POST",
  path,
  status,
  leader: true,
  ...(change ? { previousIndex: change[0], index: change[1], changed: true } : { changed: false }),
});

Deno.test("admin audit: one chain, one replica per step, nothing after the takeover: no problems", () => {
  const records = [
    call(1, "operator-a", "AddLearners [1,2,3,4] conf 9: addLearners", [9, 12], 200, "/admin/learners"),
    call(2, "operator-a", "CatchUp [1,2,3,4] conf 12: none"),
    call(5, "operator-b", "EnterJoint [1,2,3,4] conf 12: enterJoint", [12, 15]),
    call(6, "operator-b", "LeaveJoint [1,2,3,4] conf 15: leaveJoint", [15, 16], 200, "/admin/leave-joint"),
  ];
  const collector = new AdminCallCollector();
  collector.add(records);
  collector.add(records.slice(1)); // fetched again later: counted once
  assert.equal(collector.records.length, 4);
  const result = auditAdminCalls(collector.records, { from: "operator-a", to: "operator-b" });
  assert.deepEqual(result.problems, []);
  assert.deepEqual(result.chain.map((c) => [c.previousIndex, c.index]), [[9, 12], [12, 15], [15, 16]]);
});

Deno.test("admin audit: two replicas on one step, a call after the takeover, a repeat and a gap are all named", () => {
  const result = auditAdminCalls([
    call(1, "operator-a", "EnterJoint [1,2,3,4] conf 12: enterJoint", [12, 15]),
    call(3, "operator-b", "EnterJoint [1,2,3,4] conf 12: enterJoint", [12, 15]),
    call(4, "operator-a", "LeaveJoint [1,2,3,4] conf 15: leaveJoint", [15, 16], 200, "/admin/leave-joint"),
    call(5, "operator-b", "RemoveMembers conf 18", undefined, 504, "/admin/members/5"),
    call(6, "operator-b", "AddLearners [1,2,3,4,6] conf 18: addLearners", [18, 20], 200, "/admin/learners"),
  ], { from: "operator-a", to: "operator-b" });
  const text = result.problems.join("\n");
  assert.match(
    text,
    /step "EnterJoint \[1,2,3,4\] conf 12: enterJoint" was acted on by operator-a and operator-b/,
  );
  assert.match(text, /operator-a acted after operator-b took over at .*POST \/admin\/leave-joint/);
  assert.match(text, /configuration index 15 produced twice/);
  assert.match(text, /gap: the change at 20 was proposed on 18, but the previous recorded change made 16/);
  assert.match(text, /failed calls between: POST \/admin\/members\/5/);
});

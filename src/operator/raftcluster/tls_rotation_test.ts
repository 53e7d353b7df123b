import assert from "node:assert/strict";
import { initialTlsStatus, planRotation, type RotationInput, withReissued } from "./tls_rotation.ts";

const now = new Date("2026-12-04T18:00:00Z");
const step = (input: Partial<RotationInput> & Pick<RotationInput, "status">) =>
  planRotation({ asked: 1, members: [1, 2, 3], rolled: true, now, ...input });

Deno.test("rotation: trust both, reissue, roll, drop the old CA, each phase only after a full roll", () => {
  let status = initialTlsStatus(0);
  assert.deepEqual(step({ status, asked: 0 }).action, { kind: "none" }, "nothing asked");

  let r = step({ status });
  assert.equal(r.action.kind, "createNextCa");
  assert.equal(r.status.phase, "TrustNew");
  status = r.status;

  assert.equal(
    step({ status, rolled: false }).action.kind,
    "wait",
    "members still restarting to trust the new CA",
  );
  r = step({ status });
  assert.equal(r.status.phase, "Reissue");
  status = r.status;

  r = step({ status });
  assert.deepEqual(r.action, { kind: "reissue", ids: [1, 2, 3] });
  status = withReissued(withReissued(status, 3), 1);
  assert.deepEqual(step({ status }).action, { kind: "reissue", ids: [2] }, "only the members still missing");
  status = withReissued(status, 2);

  r = step({ status, rolled: true });
  assert.equal(r.status.certificates, 1, "all reissued: the certificate generation rolls the members");
  assert.equal(r.action.kind, "none");
  status = r.status;
  // The roll of the new certificates must finish before the old CA goes.
  assert.equal(step({ status, rolled: false }).action.kind, "wait");
  r = step({ status });
  assert.equal(r.action.kind, "dropOldCa");
  assert.equal(r.status.phase, "DropOld");
  status = r.status;

  assert.equal(step({ status, rolled: false }).action.kind, "wait");
  r = step({ status });
  assert.deepEqual(
    { ...r.status, message: undefined },
    { rotation: 1, phase: "Stable", certificates: 1, message: undefined },
  );
  assert.equal(step({ status: r.status }).action.kind, "none", "rotation 1 is done");
  assert.equal(step({ status: r.status, asked: 2 }).action.kind, "createNextCa", "the next one starts again");
});

Deno.test("rotation: a member added during Reissue is reissued too; a new cluster starts at its asked rotation", () => {
  assert.deepEqual(initialTlsStatus(3), { rotation: 3, phase: "Stable", certificates: 0 });
  const status = withReissued({ ...initialTlsStatus(0), phase: "Reissue", reissued: [] }, 1);
  assert.deepEqual(step({ status, members: [1, 4] }).action, { kind: "reissue", ids: [4] });
  assert.deepEqual(withReissued(status, 1).reissued, [1], "recorded once");
});

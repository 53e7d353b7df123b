import assert from "node:assert/strict";
import {
  applyConfChange,
  ConfChangeError,
  EMPTY_MEMBERSHIP,
  fromConfState,
  toConfState,
} from "./membership.ts";

const conf = (voters: number[], learners: number[] = []) =>
  fromConfState({ voters, votersOutgoing: [], learners, learnersNext: [] });

Deno.test("simple changes alter at most one voter in safe mode", () => {
  const m = conf([1, 2, 3], [4, 5]);
  assert.deepEqual(
    toConfState(applyConfChange(m, { ops: [{ op: "addLearner", node: 4 }], joint: false }, "safe")),
    {
      voters: [1, 2, 3],
      votersOutgoing: [],
      learners: [4, 5],
      learnersNext: [],
    },
  );
  assert.deepEqual(
    applyConfChange(m, { ops: [{ op: "addVoter", node: 4 }], joint: false }, "safe").voters,
    new Set([1, 2, 3, 4]),
  );
  assert.throws(
    () =>
      applyConfChange(
        m,
        { ops: [{ op: "addVoter", node: 4 }, { op: "addVoter", node: 5 }], joint: false },
        "safe",
      ),
    ConfChangeError,
  );
  // the two unsafe modes skip exactly that protection
  for (const mode of ["unsafe-early-vote", "unsafe-no-joint"] as const) {
    const next = applyConfChange(m, {
      ops: [{ op: "addVoter", node: 4 }, { op: "addVoter", node: 5 }],
      joint: false,
    }, mode);
    assert.deepEqual(next.voters, new Set([1, 2, 3, 4, 5]));
  }
});

Deno.test("safe mode refuses a voter that skipped the learner stage, the unsafe modes take it", () => {
  const m = conf([1, 2, 3]);
  for (const joint of [false, true]) {
    assert.throws(
      () => applyConfChange(m, { ops: [{ op: "addVoter", node: 4 }], joint }, "safe"),
      /node 4 is not a learner: in safe mode a new member is added as a learner first/,
    );
  }
  for (const mode of ["unsafe-early-vote", "unsafe-no-joint"] as const) {
    assert.deepEqual(
      applyConfChange(m, { ops: [{ op: "addVoter", node: 4 }], joint: false }, mode).voters,
      new Set([1, 2, 3, 4]),
    );
  }
});

Deno.test("entering and leaving a joint configuration", () => {
  const m = conf([1, 2, 3], [4]);
  const joint = applyConfChange(m, {
    ops: [{ op: "addVoter", node: 4 }, { op: "remove", node: 1 }],
    joint: true,
  }, "safe");
  assert.deepEqual(toConfState(joint), {
    voters: [2, 3, 4],
    votersOutgoing: [1, 2, 3],
    learners: [],
    learnersNext: [],
  });
  assert.throws(
    () => applyConfChange(joint, { ops: [{ op: "addLearner", node: 9 }], joint: false }, "safe"),
    /leave it/,
  );
  const left = applyConfChange(joint, { ops: [], joint: false }, "safe");
  assert.deepEqual(toConfState(left), {
    voters: [2, 3, 4],
    votersOutgoing: [],
    learners: [],
    learnersNext: [],
  });
  assert.throws(() => applyConfChange(left, { ops: [], joint: false }, "safe"), /not in one/);
});

Deno.test("demoting a voter inside a joint configuration goes through learners_next", () => {
  const joint = applyConfChange(
    conf([1, 2, 3]),
    { ops: [{ op: "addLearner", node: 3 }], joint: true },
    "safe",
  );
  assert.deepEqual(toConfState(joint), {
    voters: [1, 2],
    votersOutgoing: [1, 2, 3],
    learners: [],
    learnersNext: [3],
  });
  const left = applyConfChange(joint, { ops: [], joint: false }, "safe");
  assert.deepEqual(toConfState(left), {
    voters: [1, 2],
    votersOutgoing: [],
    learners: [3],
    learnersNext: [],
  });
});

Deno.test("invalid changes are refused with a reason", () => {
  const m = conf([1]);
  assert.throws(
    () => applyConfChange(m, { ops: [{ op: "remove", node: 1 }], joint: false }, "safe"),
    /all voters/,
  );
  assert.throws(
    () => applyConfChange(m, { ops: [{ op: "addVoter", node: -3 }], joint: false }, "safe"),
    /invalid node id/,
  );
  assert.throws(() => applyConfChange(m, { ops: [], joint: true }, "safe"), /does not change/);
  assert.throws(
    () =>
      applyConfChange(
        EMPTY_MEMBERSHIP,
        { ops: [{ op: "explode" as "remove", node: 2 }], joint: false },
        "safe",
      ),
    /unknown/,
  );
});

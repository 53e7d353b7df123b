import assert from "node:assert/strict";
import type { Message } from "../raft/types.ts";
import { encodeFrames, FrameDecoder, FrameError } from "./frame.ts";
import { acceptHello, HandshakeError } from "./handshake.ts";
import { seededRandom } from "./random.ts";
import { SnapshotAssembler, SnapshotStreamError } from "./snapshot_stream.ts";
import { InvalidMessageError, validateMessage } from "./validate.ts";

const append: Message = {
  type: "app",
  from: 1,
  to: 2,
  term: 3,
  logTerm: 2,
  index: 10,
  commit: 9,
  entries: [
    { term: 3, index: 11, type: "normal", data: new Uint8Array([1, 2]) },
    { term: 3, index: 12, type: "conf", change: { ops: [{ op: "addLearner", node: 4 }], joint: false } },
  ],
};

const snap: Message = {
  type: "snap",
  from: 1,
  to: 3,
  term: 5,
  snapshot: {
    meta: {
      index: 100,
      term: 4,
      conf: { voters: [1, 2, 3], votersOutgoing: [], learners: [4], learnersNext: [] },
    },
    data: new Uint8Array([7, 7, 7]),
  },
};

/** The message as the receiver sees it: encoded, framed and decoded. */
function overTheWire(value: unknown): unknown {
  const decoder = new FrameDecoder(1 << 20);
  decoder.push(encodeFrames([value]));
  return decoder.next();
}

Deno.test("message validation", async (t) => {
  await t.step("well-formed messages pass and come back equal", () => {
    for (const message of [append, snap, { type: "heartbeat", from: 2, to: 1, term: 1, context: "r1" }]) {
      assert.deepEqual(validateMessage(overTheWire(message)), message);
    }
  });

  await t.step("binary fields reach the core as plain Uint8Array, not Buffer", () => {
    const checked = validateMessage(overTheWire(append));
    assert.equal(Object.getPrototypeOf(checked.entries![0].data), Uint8Array.prototype);
  });

  await t.step("wrong field types, missing fields and unknown fields name the field", () => {
    const cases: [unknown, RegExp][] = [
      [{ ...append, term: "3" }, /message\.term: expected an integer >= 0, got string/],
      [{ ...append, from: 0 }, /message\.from: expected a node id >= 1/],
      [{ ...append, term: 1.5 }, /message\.term/],
      [{ ...append, type: "bogus" }, /message\.type: expected app\|appResp/],
      [{ type: "app", from: 1, term: 1 }, /message\.to: missing/],
      [{ ...append, extra: 1 }, /unknown field "extra"/],
      [
        { ...append, entries: [{ term: 1, index: 1, type: "normal", data: "text" }] },
        /entries\[0\]\.data: expected bytes/,
      ],
      [{
        ...append,
        entries: [{ term: 1, index: 1, type: "conf", change: { ops: [{ op: "x", node: 1 }], joint: false } }],
      }, /ops\[0\]\.op/],
      [
        { ...snap, snapshot: { ...snap.snapshot, meta: { index: 1, term: 1 } } },
        /snapshot\.meta\.conf: missing/,
      ],
      [{ ...snap, snapshot: undefined }, /snapshot: missing on a snap message/],
      [[1, 2, 3], /message: expected an object, got array/],
      [null, /message: expected an object, got null/],
      [new Uint8Array(4), /message: expected an object, got bytes/],
    ];
    for (const [value, pattern] of cases) {
      assert.throws(
        () => validateMessage(overTheWire(value)),
        (e) => e instanceof InvalidMessageError && pattern.test(e.message),
      );
    }
  });

  await t.step("a __proto__ key cannot smuggle fields in", () => {
    // {"__proto__": {"term": 1}} written by hand: a raw peer can send any msgpack.
    const proto = new TextEncoder().encode("__proto__");
    const body = [0x81, 0xa0 | proto.length, ...proto, 0x81, 0xa4, ...new TextEncoder().encode("term"), 0x01];
    const decoder = new FrameDecoder(1024);
    decoder.push(new Uint8Array([0, 0, 0, body.length, ...body]));
    assert.throws(() => validateMessage(decoder.next()), InvalidMessageError);
  });
});

Deno.test("fuzz: random bytes and mutated frames give errors from decoder, validator, handshake and snapshot assembler, never a crash or a hang", async () => {
  const random = seededRandom(20240611);
  const valid = encodeFrames([append, snap]);
  let frames = 0, frameErrors = 0, invalid = 0, accepted = 0;
  const started = performance.now();
  for (let round = 0; round < 3000; round++) {
    let bytes: Uint8Array;
    if (round % 2 === 0) {
      bytes = new Uint8Array(1 + Math.floor(random() * 300));
      for (let i = 0; i < bytes.length; i++) bytes[i] = random() * 256;
      // Half of the random inputs get a plausible length prefix so the msgpack decoder sees them too.
      if (round % 4 === 0 && bytes.length > 4) new DataView(bytes.buffer).setUint32(0, bytes.length - 4);
    } else {
      bytes = valid.slice();
      const flips = 1 + Math.floor(random() * 4);
      for (let i = 0; i < flips; i++) bytes[Math.floor(random() * bytes.length)] = random() * 256;
    }
    const decoder = new FrameDecoder(4096);
    decoder.push(bytes);
    try {
      for (let value = decoder.next(); value !== undefined; value = decoder.next()) {
        frames++;
        try {
          validateMessage(value);
          accepted++;
        } catch (error) {
          assert.ok(error instanceof InvalidMessageError, `validator threw ${error}`);
          invalid++;
        }
        assert.throws(
          () => acceptHello(value, { clusterId: "c", nodeId: 2, token: "t", safetyMode: "safe" }),
          HandshakeError,
        );
        try {
          await new SnapshotAssembler().accept(value);
        } catch (error) {
          assert.ok(error instanceof SnapshotStreamError || error instanceof InvalidMessageError, `${error}`);
        }
      }
    } catch (error) {
      assert.ok(error instanceof FrameError, `decoder threw ${error}`);
      frameErrors++;
    }
  }
  const elapsedMs = performance.now() - started;
  console.log({ frames, frameErrors, invalid, accepted, elapsedMs: Math.round(elapsedMs) });
  assert.ok(frameErrors > 0 && invalid > 0, "the fuzzer should reach both the decoder and the validator");
  assert.ok(elapsedMs < 20_000, `fuzzing took ${elapsedMs} ms: something is close to hanging`);
});

import assert from "node:assert/strict";
import { KvStateMachine } from "./state_machine.ts";
import { decodeFileInSlices, decodeInSlices, encodeInSlices, encodeToWriter } from "./snapshot_slices.ts";
import { kvPackr } from "./codec.ts";
import { ImageEncoder, pairFrames } from "./snapshot_image.ts";
import { encodeSnapshotFile, snapshotFilePieces } from "../storage/snapshot_file.ts";
import { SIZE_CLASS_PAIRS } from "./testdata/size_class_pairs.ts";

function stateOf(keys: number, valueBytes: number): KvStateMachine {
  const sm = KvStateMachine.bootstrap(1, { peer: "127.0.0.1:1", client: "http://127.0.0.1:2" }, "safe");
  for (let i = 0; i < keys; i++) sm.data.set(`key-${i}`, `${i}:`.padEnd(valueBytes, "v"));
  return sm;
}

Deno.test("an image round-trips the data, members, conf index and safety mode", () => {
  const sm = stateOf(5_000, 100);
  const back = KvStateMachine.decode(sm.encode());
  assert.deepEqual(new Map(back.data.entries()), new Map(sm.data.entries()));
  assert.deepEqual([...back.members], [...sm.members]);
  assert.equal(back.confIndex, 1);
  assert.equal(back.safetyMode, "safe");
  assert.equal(KvStateMachine.decode(new Uint8Array()).data.size, 0);
});

Deno.test("decoding places every size of key and value, records larger than a quarter slab included", () => {
  const sm = new KvStateMachine();
  const pairs: Array<readonly [string, string, number]> = [
    ...SIZE_CLASS_PAIRS,
    ["huge", "h".repeat(1_500_000), 2 ** 32],
    ["k".repeat(70_000), "long key", Number.MAX_SAFE_INTEGER],
  ];
  for (const [k, v, mod] of pairs) sm.data.set(k, v, mod);
  for (let i = 0; i < 2_000; i++) sm.data.set(`key-${i}`, `${i}`.repeat(i % 50), i);
  const back = KvStateMachine.decode(sm.encode());
  assert.deepEqual([...back.data.entriesWithModIndex()], [...sm.data.entriesWithModIndex()]);
});

Deno.test("an image of text beyond Latin-1 (more bytes than characters) is encoded whole", () => {
  const sm = new KvStateMachine();
  for (let i = 0; i < 3_000; i++) sm.data.set(`ключ-${i}`, "€😀ü".repeat(50 + (i % 7)));
  const back = KvStateMachine.decode(sm.encode());
  assert.deepEqual(new Map(back.data.entries()), new Map(sm.data.entries()));
});

Deno.test("a format 1 image (older versions) is still read; garbage is refused with a clear error", () => {
  const v1 = kvPackr.pack({
    format: 1,
    data: [["a", "1"], ["b", "2"]],
    sessions: [],
    members: [[1, { peer: "p", client: "c" }]],
    confIndex: 3,
  });
  const sm = KvStateMachine.decode(v1);
  assert.equal(sm.data.get("b"), "2");
  assert.equal(sm.confIndex, 3);
  assert.throws(() => KvStateMachine.decode(kvPackr.pack({ format: 9 })), /unsupported snapshot format 9/);
  const good = stateOf(1000, 50).encode();
  assert.throws(() => KvStateMachine.decode(good.subarray(0, good.length - 10)), /truncated/);
});

Deno.test("a sliced image is the state when it began, whatever is written between slices", () => {
  const sm = stateOf(200_000, 100);
  const expected = new Map(sm.data.entries());
  const pending: Array<() => void> = [];
  let image: Uint8Array | undefined;
  encodeInSlices(sm, (fn) => pending.push(fn), (error, bytes) => {
    assert.ifError(error);
    image = bytes;
  });
  let slices = 0;
  for (let i = 0; pending.length; i++) {
    // Writes between slices: overwrite, delete, add.
    sm.data.set(`key-${i}`, "changed");
    sm.data.delete(`key-${i + 10_000}`);
    sm.data.set(`new-${i}`, "added");
    pending.shift()!();
    slices++;
  }
  assert.ok(slices > 2, `expected several slices, got ${slices}`);
  assert.ok(image);
  assert.equal(sm.data.frozen, false, "the state is released once the image is encoded");
  assert.equal(sm.data.get("key-0"), "changed");
  let decoded: KvStateMachine | undefined;
  const decodeSteps: Array<() => void> = [];
  decodeInSlices(image, (fn) => decodeSteps.push(fn), (error, back) => {
    assert.ifError(error);
    decoded = back;
  });
  while (decodeSteps.length) decodeSteps.shift()!();
  assert.deepEqual(new Map(decoded!.data.entries()), expected);
});

Deno.test("an abandoned image releases the frozen state", () => {
  const sm = stateOf(20_000, 200);
  const pending: Array<() => void> = [];
  // One 256 KiB frame per slice: the 4 MB state cannot be encoded in the first (a time budget
  // could be, on a fast machine).
  const job = encodeInSlices(sm, (fn) => pending.push(fn), () => assert.fail("must not finish"), 0);
  assert.equal(sm.data.frozen, true);
  sm.data.set("later", "x");
  job.cancel();
  assert.equal(sm.data.frozen, false);
  assert.equal(sm.data.get("later"), "x");
  while (pending.length) pending.shift()!();
});

Deno.test("snapshot file pieces are byte for byte the packed file, for every bin header size", () => {
  for (const size of [0, 10, 255, 256, 65_535, 65_536, 300_000]) {
    const data = new Uint8Array(size).map((_, i) => i * 7);
    const snapshot = {
      meta: {
        index: 42,
        term: 3,
        conf: { voters: [1, 2], votersOutgoing: [], learners: [3], learnersNext: [] },
      },
      data,
    };
    const pieces = snapshotFilePieces(snapshot);
    const joined = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of pieces) joined.set(p, (at += p.length) - p.length);
    assert.deepEqual(joined, encodeSnapshotFile(snapshot), `size ${size}`);
  }
});

Deno.test("an image encoded into a writer, slice by slice, is the same bytes as one built in memory", async () => {
  const sm = stateOf(300_000, 100);
  const whole = sm.encode();
  const pieces: Uint8Array[] = [];
  let opened = 0;
  await new Promise<void>((resolve, reject) => {
    encodeToWriter(sm, (done) => {
      opened++;
      // Writes made while the image is encoded land after the frozen state: not in this image.
      sm.data.set("key-0", "changed meanwhile");
      setTimeout(() =>
        done(undefined, {
          write: (piece, done) => {
            pieces.push(piece.slice());
            setTimeout(done, 0);
          },
          finish: () => {},
          abort: () => reject(new Error("aborted")),
        }), 0);
    }, (error) => error ? reject(error) : resolve());
  });
  assert.equal(opened, 1);
  assert.ok(pieces.length > 1, "written in more than one piece");
  // Each piece is at most the encoder's 1 MiB buffer (a step stops when half of it is encoded):
  // the memory in flight and each synchronous slice stay small, whatever the state's size.
  const largest = Math.max(...pieces.map((p) => p.length));
  assert.ok(largest <= 1024 * 1024, `a piece of ${largest} bytes`);
  const streamed = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    streamed.set(p, at);
    at += p.length;
  }
  assert.deepEqual(streamed, whole);
  assert.equal(sm.data.get("key-0"), "changed meanwhile");
  assert.equal(sm.data.frozen, false, "the state is thawed once the image is encoded");
});

Deno.test("an image decoded from pieces of any size is the state; a truncated one is refused", () => {
  const sm = stateOf(300, 150);
  sm.data.set("ü-key", "€😀".repeat(40), 77);
  const image = sm.encode();
  for (const pieceBytes of [3, 4096, image.length]) {
    const { sm: back, decoder, header } = KvStateMachine.beginStreamDecode();
    for (let at = 0; at < image.length; at += pieceBytes) {
      decoder.push(image.slice(at, at + pieceBytes));
      decoder.step();
    }
    decoder.finish();
    header();
    assert.deepEqual(new Map(back.data.entries()), new Map(sm.data.entries()), `pieces of ${pieceBytes}`);
    assert.equal(back.modIndexOf("ü-key"), 77);
    assert.deepEqual([...back.members], [...sm.members]);
    assert.equal(back.safetyMode, "safe");
  }
  const { decoder } = KvStateMachine.beginStreamDecode();
  decoder.push(image.slice(0, image.length - 10));
  decoder.step();
  assert.throws(() => decoder.finish(), /truncated/);
});

Deno.test("decodeFileInSlices reads a staged image a piece at a time, and a format 1 file whole", async () => {
  const dir = await Deno.makeTempDir({ prefix: "decode-file-" });
  try {
    const sm = stateOf(20_000, 200);
    await Deno.writeFile(`${dir}/v2`, sm.encode());
    const decode = (path: string) =>
      new Promise<KvStateMachine>((resolve, reject) =>
        decodeFileInSlices(path, (fn) => setTimeout(fn, 0), (e, back) => e ? reject(e) : resolve(back!))
      );
    const back = await decode(`${dir}/v2`);
    assert.deepEqual(new Map(back.data.entries()), new Map(sm.data.entries()));
    assert.equal(back.confIndex, sm.confIndex);
    const v1 = kvPackr.pack({ format: 1, data: [["a", "1"]], sessions: [], members: [], confIndex: 4 });
    await Deno.writeFile(`${dir}/v1`, v1);
    assert.equal((await decode(`${dir}/v1`)).get("a"), "1");
    await Deno.writeFile(`${dir}/cut`, sm.encode().subarray(0, 100_000));
    await assert.rejects(() => decode(`${dir}/cut`), /truncated/);
    // An image inside a larger file (a snapshot file: preamble and metadata before it), by range.
    const decodeRange = (path: string, range: { offset: number; bytes: number }) =>
      new Promise<KvStateMachine>((resolve, reject) =>
        decodeFileInSlices(path, undefined, (e, back) => e ? reject(e) : resolve(back!), range)
      );
    for (const [name, image] of [["v2", sm.encode()], ["v1", v1]] as const) {
      const framed = new Uint8Array(77 + image.length + 5).fill(0xee);
      framed.set(image, 77);
      await Deno.writeFile(`${dir}/framed-${name}`, framed);
      const back = await decodeRange(`${dir}/framed-${name}`, { offset: 77, bytes: image.length });
      assert.deepEqual(new Map(back.data.entries()), new Map(KvStateMachine.decode(image).data.entries()));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an image whose frames msgpackr encoded (older versions) decodes the same", () => {
  const pairs: Array<[string, string, number]> = [["a", "1", 3], ["ключ", "€".repeat(300), 2 ** 40], [
    "b",
    "",
    0,
  ]];
  const encoder = new ImageEncoder(
    { sessions: [], members: [], confIndex: 2, pairs: pairs.length },
    pairFrames(pairs[Symbol.iterator]()),
    1000,
  );
  encoder.step();
  const back = KvStateMachine.decode(encoder.image());
  assert.deepEqual([...back.data.entriesWithModIndex()], pairs);
});

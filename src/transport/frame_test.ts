import assert from "node:assert/strict";
import { encodeFrames, FRAME_HEADER_BYTES, FrameDecoder, FrameError } from "./frame.ts";

function drain(decoder: FrameDecoder): unknown[] {
  const out: unknown[] = [];
  for (let value = decoder.next(); value !== undefined; value = decoder.next()) out.push(value);
  return out;
}

Deno.test("frames", async (t) => {
  await t.step("a batch is one buffer of length-prefixed bodies that decodes back in order", () => {
    const values = [{ a: 1 }, "two", [3, 4], { bytes: new Uint8Array([5, 6, 7]) }];
    const bytes = encodeFrames(values);
    const firstLength = new DataView(bytes.buffer).getUint32(0);
    assert.ok(firstLength > 0 && firstLength < bytes.length);
    const decoder = new FrameDecoder(1024);
    decoder.push(bytes);
    const decoded = drain(decoder) as [unknown, unknown, unknown, { bytes: Uint8Array }];
    assert.deepEqual(decoded.slice(0, 3), values.slice(0, 3));
    assert.deepEqual([...decoded[3].bytes], [5, 6, 7]);
  });

  await t.step("frames split at every byte boundary reassemble", () => {
    const values = Array.from({ length: 20 }, (_, i) => ({ i, s: "x".repeat(i * 7) }));
    const bytes = encodeFrames(values);
    const decoder = new FrameDecoder(1024);
    const out: unknown[] = [];
    for (let i = 0; i < bytes.length; i++) {
      decoder.push(bytes.subarray(i, i + 1));
      out.push(...drain(decoder));
    }
    assert.deepEqual(out, values);
  });

  await t.step("binary fields survive later pushes that reuse the read buffer", () => {
    const decoder = new FrameDecoder(1 << 20);
    decoder.push(encodeFrames([{ data: new Uint8Array([1, 2, 3]) }]));
    const first = decoder.next() as { data: Uint8Array };
    decoder.push(encodeFrames([{ data: new Uint8Array([9, 9, 9]) }]));
    decoder.next();
    assert.deepEqual([...first.data], [1, 2, 3]);
  });

  await t.step("a length above maxFrameBytes is refused from its header alone", () => {
    const decoder = new FrameDecoder(100);
    decoder.push(new Uint8Array([0xff, 0xff, 0xff, 0xf0]));
    assert.throws(
      () => decoder.next(),
      (e) => e instanceof FrameError && /exceeds maxFrameBytes 100/.test(e.message),
    );
  });

  await t.step("an empty frame and undecodable msgpack are FrameErrors", () => {
    const empty = new FrameDecoder(100);
    empty.push(new Uint8Array(FRAME_HEADER_BYTES));
    assert.throws(() => empty.next(), FrameError);
    const truncated = new FrameDecoder(100);
    truncated.push(new Uint8Array([0, 0, 0, 2, 0xdd, 0xff])); // array32 header cut short
    assert.throws(() => truncated.next(), /undecodable msgpack/);
    const trailing = new FrameDecoder(100);
    trailing.push(new Uint8Array([0, 0, 0, 2, 0x01, 0x02])); // two values in one body
    assert.throws(() => trailing.next(), /undecodable msgpack/);
  });
});

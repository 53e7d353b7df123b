import assert from "node:assert/strict";
import { crc32, crc32Combine } from "./crc32.ts";

Deno.test("crc32Combine gives the CRC of A followed by B, for empty, odd and multi-MB lengths", () => {
  const bytes = (length: number, seed: number) =>
    Uint8Array.from({ length }, (_, i) => (i * seed + (i >> 9)) & 0xff);
  for (const [la, lb] of [[0, 0], [1, 0], [0, 1], [5, 7], [1000, 123_457], [3, 5_000_001]]) {
    const a = bytes(la, 7), b = bytes(lb, 13);
    const ab = new Uint8Array(la + lb);
    ab.set(a);
    ab.set(b, la);
    assert.equal(crc32Combine(crc32(a), crc32(b), lb), crc32(ab), `${la} + ${lb} bytes`);
  }
  // The check value of the CRC-32 (IEEE): "123456789" in two parts.
  const text = new TextEncoder().encode("123456789");
  assert.equal(crc32Combine(crc32(text.subarray(0, 4)), crc32(text.subarray(4)), 5), 0xcbf43926);
});

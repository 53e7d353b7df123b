/**
 * Key/value/modIndex triples at msgpack's size-class edges (str 8/16/32, uint 8/16/32) and in
 * scripts beyond Latin-1 (more UTF-8 bytes than characters): what an image's encoder and decoder
 * must place exactly. The image and arena tests add their own larger or odder cases.
 */
export const SIZE_CLASS_PAIRS: ReadonlyArray<readonly [string, string, number]> = [
  ["", "", 0],
  ["k", "short", 127],
  ["ключ", "€😀".repeat(20), 128],
  ["x".repeat(300), "y".repeat(255), 65_535],
  ["long", "z".repeat(70_000), 65_536],
];

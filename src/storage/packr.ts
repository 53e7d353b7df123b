import { Packr } from "msgpackr";

/**
 * The one msgpack codec of the storage layer. copyBuffers: decoded binary fields must own their
 * bytes rather than alias the segment buffer they were read from.
 */
export const packr = new Packr({ useRecords: false, copyBuffers: true });

/** msgpackr hands binary fields back as Buffers; callers expect plain Uint8Arrays (same bytes, no copy). */
export function asPlainBytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new Error(`${what} is not binary`);
  return value.constructor === Uint8Array
    ? value
    : new Uint8Array(value.buffer, value.byteOffset, value.length);
}

export function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

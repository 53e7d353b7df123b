/**
 * The key-value data kept off the V8 heap: each pair's UTF-8 bytes (key and value) live in a record
 * in a large ArrayBuffer *slab*, and the index is an open-addressing hash table in typed arrays:
 * no JS object, string or Map entry per key. Each key has a *slot* (a small integer); per slot,
 * typed arrays hold where its record is, its modIndex and its hash; the table maps a key's hash
 * to slots (linear probing, deletion by backward shift, kept at most half full).
 *
 * Why (issue 17, measured at 1M keys): with values as JS strings in a Map, every write stored a
 * fresh (young) string into a Map in the old generation. V8 must then scan each such old-to-new
 * pointer at every young-generation collection, and a scavenge took 28-35 ms at 1M keys; every
 * key and value also cost a string header and a Map entry, and the old generation's size (which
 * V8 pads with headroom, and marks in full at each major GC) grew with the data. Here a write
 * stores no pointer at all (bytes are copied into a slab, integers into typed arrays), so neither
 * collector has anything of the data to visit, and the bytes are held once, outside the heap.
 *
 * Records are appended to the current slab: `slot u32 | key bytes u32 | value bytes u32 | key |
 * value`, padded to 4 bytes. An overwrite or delete leaves the old record dead. Compaction (see
 * `maybeCompact`): once the dead bytes exceed a quarter of the live ones (and two slabs), the
 * slab with the fewest live bytes is walked record by record; a record is live when its slot
 * still points at it; live records are copied to the current slab and the emptied slab is reused
 * or dropped. So the arena stays within about 1.25x the live bytes plus two slabs, and each
 * compaction step copies at most one slab.
 */

const SLAB_BYTES = 4 * 1024 * 1024;
/** A record larger than this gets a slab of its own (dropped whole once the value is replaced). */
const LARGE_RECORD = SLAB_BYTES / 4;
/** slot, key bytes, value bytes: three u32 words. */
const HEADER = 12;
/** Empty slabs kept for reuse instead of being left to the GC (an ArrayBuffer is freed late). */
const SPARE_SLABS = 2;

interface Slab {
  readonly bytes: Uint8Array;
  readonly words: Uint32Array;
  /** Bytes appended so far (records are never written below this). */
  used: number;
  /** Bytes of the records still pointed at by a slot (headers included). */
  live: number;
}

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
const decoder = new TextDecoder();

const padded = (n: number) => (n + 3) & ~3;

// msgpack, written by hand for image frames (any valid encoding decodes the same).
const strHeaderBytes = (n: number) => n < 32 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
const uintBytes = (n: number) => n < 0x80 ? 1 : n < 0x10000 ? 3 : n < 0x100000000 ? 5 : 9;

function writeStrHeader(out: Uint8Array, view: DataView, at: number, n: number): number {
  if (n < 32) {
    out[at] = 0xa0 | n;
    return at + 1;
  }
  if (n < 0x100) {
    out[at] = 0xd9;
    out[at + 1] = n;
    return at + 2;
  }
  if (n < 0x10000) {
    out[at] = 0xda;
    view.setUint16(at + 1, n);
    return at + 3;
  }
  out[at] = 0xdb;
  view.setUint32(at + 1, n);
  return at + 5;
}

function writeUint(out: Uint8Array, view: DataView, at: number, n: number): number {
  if (n < 0x80) {
    out[at] = n;
    return at + 1;
  }
  if (n < 0x10000) {
    out[at] = 0xcd;
    view.setUint16(at + 1, n);
    return at + 3;
  }
  if (n < 0x100000000) {
    out[at] = 0xce;
    view.setUint32(at + 1, n);
    return at + 5;
  }
  out[at] = 0xcb; // float64: exact for every safe integer
  view.setFloat64(at + 1, n);
  return at + 9;
}

export interface ArenaStats {
  keys: number;
  slabs: number;
  /** Bytes of all slabs (what the records cost). */
  allocatedBytes: number;
  /** Bytes of live records, headers included. */
  liveBytes: number;
  /** Bytes of dead records not yet reclaimed. */
  deadBytes: number;
  /** Bytes of the hash table and the per-slot arrays. */
  indexBytes: number;
  compactions: number;
}

export class ValueArena {
  /** Hash table: slot + 1 of each key, 0 for an empty bucket. */
  private table = new Int32Array(1024);
  private count = 0;
  /** Per slot: slab id (-1: free slot), byte offset of its record, modIndex, key hash. */
  private slabOf = new Int32Array(512).fill(-1);
  private offsetOf = new Uint32Array(512);
  private modOf = new Float64Array(512);
  private hashOf = new Uint32Array(512);
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  /** The UTF-8 bytes of the key being looked up (encodeKey), and how many. */
  private scratch = new Uint8Array(256);
  private keyBytes = 0;

  private readonly slabs: Array<Slab | undefined> = [];
  private readonly freeSlabIds: number[] = [];
  private readonly spare: Slab[] = [];
  private current = -1;
  private liveTotal = 0;
  private deadTotal = 0;
  private allocated = 0;
  private compactions = 0;
  /** UTF-8 bytes of all keys and values (to size a snapshot image). */
  private weightTotal = 0;

  get size(): number {
    return this.count;
  }

  /** UTF-8 bytes of the keys and the values. */
  get weight(): number {
    return this.weightTotal;
  }

  stats(): ArenaStats {
    return {
      keys: this.count,
      slabs: this.slabs.filter(Boolean).length,
      allocatedBytes: this.allocated,
      liveBytes: this.liveTotal,
      deadBytes: this.deadTotal,
      indexBytes: this.table.byteLength + this.slabOf.byteLength + this.offsetOf.byteLength +
        this.modOf.byteLength + this.hashOf.byteLength,
      compactions: this.compactions,
    };
  }

  has(key: string): boolean {
    return this.find(this.encodeKey(key)) >= 0;
  }

  get(key: string): string | undefined {
    const bucket = this.find(this.encodeKey(key));
    return bucket < 0 ? undefined : this.valueAt(this.table[bucket] - 1);
  }

  /** The modIndex stored with the key's value (0: unknown), or undefined if the key is absent. */
  modIndex(key: string): number | undefined {
    const bucket = this.find(this.encodeKey(key));
    return bucket < 0 ? undefined : this.modOf[this.table[bucket] - 1];
  }

  set(key: string, value: string, modIndex = 0): void {
    const hash = this.encodeKey(key);
    this.upsert(hash, modIndex, (slot) => this.append(slot, value));
  }

  /**
   * set() from UTF-8 bytes already encoded (an image's frame, snapshot_image.ts): the key's and
   * the value's bytes are copied from `src`, and no string is made.
   */
  setEncoded(
    src: Uint8Array,
    keyAt: number,
    keyBytes: number,
    valueAt: number,
    valueBytes: number,
    modIndex: number,
  ): void {
    if (keyBytes > this.scratch.length) this.scratch = new Uint8Array(keyBytes * 2);
    // The key byte by byte, and no closure made per pair: restarts and snapshot installs decode
    // every pair through here. 300,000 pairs of 500 B, stream-decoded, 3 alternating runs of 6:
    // first decode 273-410 ms of CPU (was 316-665), warmed 130-175 ms (was 159-183).
    const scratch = this.scratch;
    for (let i = 0; i < keyBytes; i++) scratch[i] = src[keyAt + i];
    this.keyBytes = keyBytes;
    this.encodedSource = src;
    this.encodedValueAt = valueAt;
    this.encodedValueBytes = valueBytes;
    this.upsert(this.hashScratch(), modIndex, this.writeEncoded);
    this.encodedSource = EMPTY;
  }

  /** The value setEncoded is placing (fields rather than a closure per pair). */
  private encodedSource: Uint8Array = EMPTY;
  private encodedValueAt = 0;
  private encodedValueBytes = 0;
  private readonly writeEncoded = (slot: number): number => {
    const keyBytes = this.keyBytes, valueBytes = this.encodedValueBytes, valueAt = this.encodedValueAt;
    const total = keyBytes + valueBytes;
    const id = HEADER + total > LARGE_RECORD
      ? this.addSlab(padded(HEADER + total), false)
      : this.roomFor(total);
    const slab = this.slabs[id]!, bytes = slab.bytes, scratch = this.scratch, at = slab.used + HEADER;
    for (let i = 0; i < keyBytes; i++) bytes[at + i] = scratch[i];
    bytes.set(this.encodedSource.subarray(valueAt, valueAt + valueBytes), at + keyBytes);
    return this.place(slot, id, keyBytes, valueBytes);
  };

  /** Points the key in `scratch` (hash `hash`) at a new record written by `write`. */
  private upsert(hash: number, modIndex: number, write: (slot: number) => number): void {
    const bucket = this.find(hash);
    let slot: number;
    if (bucket >= 0) {
      slot = this.table[bucket] - 1;
      this.weightTotal -= this.valueBytesAt(slot);
      this.free(slot);
    } else {
      slot = this.newSlot();
      this.hashOf[slot] = hash;
      this.table[~bucket] = slot + 1;
      this.count++;
      this.weightTotal += this.keyBytes;
    }
    this.modOf[slot] = modIndex;
    this.weightTotal += write(slot);
    if (bucket < 0 && this.count * 2 > this.table.length) this.growTable();
    this.maybeCompact();
  }

  delete(key: string): boolean {
    const bucket = this.find(this.encodeKey(key));
    if (bucket < 0) return false;
    const slot = this.table[bucket] - 1;
    this.weightTotal -= this.keyBytes + this.valueBytesAt(slot);
    this.free(slot);
    this.slabOf[slot] = -1;
    this.freeSlots.push(slot);
    this.removeBucket(bucket);
    this.count--;
    this.maybeCompact();
    return true;
  }

  /** Every pair with its modIndex, in slot order (stable while the arena is not written). */
  *entries(): IterableIterator<[string, string, number]> {
    for (let slot = 0; slot < this.nextSlot; slot++) {
      if (this.slabOf[slot] < 0) continue;
      yield [this.keyAt(slot), this.valueAt(slot), this.modOf[slot]];
    }
  }

  /**
   * Encodes the pairs of slots `from`.. as the body of one image data frame (snapshot_image.ts):
   * a msgpack array [key, value, modIndex, ...] written straight from the records' bytes (no
   * string is made) into the room `reserve` gives, until about `targetBytes`. Returns its size,
   * the next slot to encode from (`slotEnd` when done) and the number of pairs in it (0: nothing
   * written). Only while the arena is not written.
   */
  encodeFrame(
    from: number,
    targetBytes: number,
    reserve: (bytes: number) => { buffer: Uint8Array; at: number },
  ): { bytes: number; next: number; pairs: number } {
    // Pass 1: how many slots fit, and the exact size of their encoding.
    let size = 5; // array header: 0xdd + u32
    let slot = from;
    let pairs = 0;
    for (; slot < this.nextSlot && size < targetBytes; slot++) {
      if (this.slabOf[slot] < 0) continue;
      const slab = this.slabs[this.slabOf[slot]]!, w = this.offsetOf[slot] >> 2;
      size += strHeaderBytes(slab.words[w + 1]) + slab.words[w + 1] + strHeaderBytes(slab.words[w + 2]) +
        slab.words[w + 2] + uintBytes(this.modOf[slot]);
      pairs++;
    }
    if (pairs === 0) return { bytes: 0, next: slot, pairs };
    const room = reserve(size);
    const body = room.buffer;
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    body[room.at] = 0xdd;
    view.setUint32(room.at + 1, pairs * 3);
    let at = room.at + 5;
    for (let s = from; s < slot; s++) {
      if (this.slabOf[s] < 0) continue;
      const slab = this.slabs[this.slabOf[s]]!, record = this.offsetOf[s], w = record >> 2;
      const keyBytes = slab.words[w + 1], valueBytes = slab.words[w + 2];
      at = writeStrHeader(body, view, at, keyBytes);
      body.set(slab.bytes.subarray(record + HEADER, record + HEADER + keyBytes), at);
      at += keyBytes;
      at = writeStrHeader(body, view, at, valueBytes);
      const value = record + HEADER + keyBytes;
      body.set(slab.bytes.subarray(value, value + valueBytes), at);
      at += valueBytes;
      at = writeUint(body, view, at, this.modOf[s]);
    }
    return { bytes: size, next: slot, pairs };
  }

  /** One past the highest slot in use (encodeFrame's end). */
  get slotEnd(): number {
    return this.nextSlot;
  }

  // ------------------------------------------------------------------ the index

  /** Puts the key's UTF-8 bytes in `scratch` and returns their hash (FNV-1a, 32 bits). */
  private encodeKey(key: string): number {
    if (key.length * 3 > this.scratch.length) this.scratch = new Uint8Array(key.length * 3 + 64);
    this.keyBytes = encoder.encodeInto(key, this.scratch).written;
    return this.hashScratch();
  }

  private hashScratch(): number {
    const b = this.scratch, n = this.keyBytes;
    let h = 0x811c9dc5;
    for (let i = 0; i < n; i++) h = Math.imul(h ^ b[i], 0x01000193);
    return h >>> 0;
  }

  /** The bucket holding the key in `scratch`, or ~(the empty bucket where it would go). */
  private find(hash: number): number {
    const table = this.table, mask = table.length - 1;
    for (let i = hash & mask;; i = (i + 1) & mask) {
      const entry = table[i];
      if (entry === 0) return ~i;
      const slot = entry - 1;
      if (this.hashOf[slot] === hash && this.keyEquals(slot)) return i;
    }
  }

  private keyEquals(slot: number): boolean {
    const slab = this.slabs[this.slabOf[slot]]!;
    const at = this.offsetOf[slot];
    const n = this.keyBytes;
    if (slab.words[(at >> 2) + 1] !== n) return false;
    const bytes = slab.bytes, scratch = this.scratch, start = at + HEADER;
    for (let i = 0; i < n; i++) if (bytes[start + i] !== scratch[i]) return false;
    return true;
  }

  /** Empties a bucket, moving later entries of its probe run back (no tombstones). */
  private removeBucket(bucket: number): void {
    const table = this.table, mask = table.length - 1;
    let hole = bucket;
    for (let j = (bucket + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const home = this.hashOf[table[j] - 1] & mask;
      // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
      const stays = hole < j ? home > hole && home <= j : home > hole || home <= j;
      if (stays) continue;
      table[hole] = table[j];
      hole = j;
    }
    table[hole] = 0;
  }

  private growTable(): void {
    const table = new Int32Array(this.table.length * 2), mask = table.length - 1;
    for (let slot = 0; slot < this.nextSlot; slot++) {
      if (this.slabOf[slot] < 0) continue;
      let i = this.hashOf[slot] & mask;
      while (table[i] !== 0) i = (i + 1) & mask;
      table[i] = slot + 1;
    }
    this.table = table;
  }

  private newSlot(): number {
    const reused = this.freeSlots.pop();
    if (reused !== undefined) return reused;
    const slot = this.nextSlot++;
    if (slot === this.slabOf.length) {
      const grow = <T extends Int32Array | Uint32Array | Float64Array>(a: T, make: (n: number) => T): T => {
        const bigger = make(a.length * 2);
        bigger.set(a);
        return bigger;
      };
      this.slabOf = grow(this.slabOf, (n) => new Int32Array(n).fill(-1));
      this.offsetOf = grow(this.offsetOf, (n) => new Uint32Array(n));
      this.modOf = grow(this.modOf, (n) => new Float64Array(n));
      this.hashOf = grow(this.hashOf, (n) => new Uint32Array(n));
    }
    return slot;
  }

  // ------------------------------------------------------------------ records

  private keyAt(slot: number): string {
    const slab = this.slabs[this.slabOf[slot]]!;
    const at = this.offsetOf[slot];
    const keyBytes = slab.words[(at >> 2) + 1];
    return decoder.decode(slab.bytes.subarray(at + HEADER, at + HEADER + keyBytes));
  }

  private valueAt(slot: number): string {
    const slab = this.slabs[this.slabOf[slot]]!;
    const at = this.offsetOf[slot];
    const start = at + HEADER + slab.words[(at >> 2) + 1];
    return decoder.decode(slab.bytes.subarray(start, start + slab.words[(at >> 2) + 2]));
  }

  private valueBytesAt(slot: number): number {
    return this.slabs[this.slabOf[slot]]!.words[(this.offsetOf[slot] >> 2) + 2];
  }

  private recordSize(slab: Slab, at: number): number {
    return HEADER + padded(slab.words[(at >> 2) + 1] + slab.words[(at >> 2) + 2]);
  }

  /** Marks the slot's record dead (the slot keeps its number). */
  private free(slot: number): void {
    const id = this.slabOf[slot];
    const slab = this.slabs[id]!;
    const size = this.recordSize(slab, this.offsetOf[slot]);
    slab.live -= size;
    this.liveTotal -= size;
    this.deadTotal += size;
    if (slab.live === 0 && id !== this.current) this.dropSlab(id);
  }

  /**
   * Writes the record of `slot` (the key in `scratch`, then the value) and points the slot at
   * it; returns the value's byte length.
   */
  private append(slot: number, value: string): number {
    const keyBytes = this.keyBytes;
    const key = this.scratch.subarray(0, keyBytes);
    if (keyBytes + value.length * 3 + HEADER > LARGE_RECORD) {
      // A long value: its exact UTF-8 bytes first (one temporary copy), then a record that fits.
      const bytes = encoder.encode(value);
      const total = keyBytes + bytes.length;
      const id = HEADER + total > LARGE_RECORD
        ? this.addSlab(padded(HEADER + total), false)
        : this.roomFor(total);
      const slab = this.slabs[id]!;
      slab.bytes.set(key, slab.used + HEADER);
      slab.bytes.set(bytes, slab.used + HEADER + keyBytes);
      return this.place(slot, id, keyBytes, bytes.length);
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit, and most values are ASCII (1 byte each): try
    // the current slab's free space first, a fresh slab if the value did not fit.
    const worst = value.length * 3;
    const current = this.current >= 0 ? this.slabs[this.current]! : undefined;
    if (current && current.bytes.length - current.used - HEADER - keyBytes >= value.length) {
      const start = current.used + HEADER + keyBytes;
      const room = current.bytes.subarray(start, Math.min(current.bytes.length, start + worst));
      const { read, written } = encoder.encodeInto(value, room);
      if (read === value.length) {
        current.bytes.set(key, current.used + HEADER);
        return this.place(slot, this.current, keyBytes, written);
      }
    }
    const id = this.roomFor(keyBytes + worst);
    const slab = this.slabs[id]!;
    const start = slab.used + HEADER + keyBytes;
    const { written } = encoder.encodeInto(value, slab.bytes.subarray(start, start + worst));
    slab.bytes.set(key, slab.used + HEADER);
    return this.place(slot, id, keyBytes, written);
  }

  /** The current slab's id if `length` bytes fit after a header, else a new current slab's. */
  private roomFor(length: number): number {
    const current = this.current >= 0 ? this.slabs[this.current]! : undefined;
    if (current && current.bytes.length - current.used - HEADER >= length) return this.current;
    return this.addSlab(SLAB_BYTES, true);
  }

  /** The record's bytes are already at slab.used + HEADER: write its header and account for it. */
  private place(slot: number, id: number, keyBytes: number, valueBytes: number): number {
    const slab = this.slabs[id]!;
    const at = slab.used;
    const w = at >> 2;
    slab.words[w] = slot;
    slab.words[w + 1] = keyBytes;
    slab.words[w + 2] = valueBytes;
    const size = HEADER + padded(keyBytes + valueBytes);
    slab.used += size;
    slab.live += size;
    this.liveTotal += size;
    this.slabOf[slot] = id;
    this.offsetOf[slot] = at;
    // A large record's own slab: its unused tail (if any) is dead from the start.
    if (id !== this.current) this.deadTotal += slab.bytes.length - slab.used;
    return valueBytes;
  }

  /** A new slab (a spare one if there is one); `current`: appends go there from now on. */
  private addSlab(bytes: number, current: boolean): number {
    if (this.current >= 0 && current) {
      const old = this.slabs[this.current]!;
      if (old.live === 0) this.dropSlab(this.current);
      else {
        // The tail of the slab being left is never used: count it dead so compaction sees it.
        this.deadTotal += old.bytes.length - old.used;
        this.current = -1;
      }
    }
    let slab = bytes === SLAB_BYTES ? this.spare.pop() : undefined;
    if (slab) {
      slab.used = 0;
      slab.live = 0;
    } else {
      const buffer = new ArrayBuffer(bytes);
      slab = { bytes: new Uint8Array(buffer), words: new Uint32Array(buffer), used: 0, live: 0 };
    }
    this.allocated += slab.bytes.length;
    const id = this.freeSlabIds.pop() ?? this.slabs.length;
    this.slabs[id] = slab;
    if (current) this.current = id;
    return id;
  }

  private dropSlab(id: number): void {
    const slab = this.slabs[id]!;
    this.slabs[id] = undefined;
    this.freeSlabIds.push(id);
    this.allocated -= slab.bytes.length;
    // What was appended and is now dead, plus the unused tail counted when it stopped being current.
    this.deadTotal -= id === this.current ? slab.used : slab.bytes.length;
    if (id === this.current) this.current = -1;
    if (slab.bytes.length === SLAB_BYTES && this.spare.length < SPARE_SLABS) this.spare.push(slab);
  }

  /**
   * Reclaims dead bytes once they exceed a quarter of the live ones (and two slabs): the slab with
   * the fewest live bytes has its live records moved to the current slab, then it is dropped.
   * One slab per call, so a write pays at most one slab's copy (4 MiB, about a millisecond).
   */
  private maybeCompact(): void {
    if (this.deadTotal <= Math.max(2 * SLAB_BYTES, this.liveTotal / 4)) return;
    let victim = -1;
    let least = Infinity;
    for (let id = 0; id < this.slabs.length; id++) {
      const slab = this.slabs[id];
      // Only shared slabs: a large record's own slab is dropped whole when the record dies.
      if (!slab || id === this.current || slab.bytes.length !== SLAB_BYTES) continue;
      if (slab.live < least) {
        least = slab.live;
        victim = id;
      }
    }
    if (victim >= 0) this.compactSlab(victim);
  }

  private compactSlab(id: number): void {
    const slab = this.slabs[id]!;
    this.compactions++;
    let at = 0;
    while (at < slab.used && slab.live > 0) {
      const slot = slab.words[at >> 2];
      const size = this.recordSize(slab, at);
      if (this.slabOf[slot] === id && this.offsetOf[slot] === at) {
        const length = size - HEADER;
        const target = this.slabs[this.roomFor(length)]!;
        target.bytes.set(slab.bytes.subarray(at + HEADER, at + size), target.used + HEADER);
        this.place(slot, this.current, slab.words[(at >> 2) + 1], slab.words[(at >> 2) + 2]);
        slab.live -= size;
        this.liveTotal -= size;
        this.deadTotal += size;
      }
      at += size;
    }
    this.dropSlab(id);
  }
}

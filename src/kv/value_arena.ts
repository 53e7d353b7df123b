/**
 * The key-value data with the values kept off the V8 heap: each value's UTF-8 bytes live in a
 * record in a large ArrayBuffer *slab*, and the heap holds only a Map from key to a small integer
 * (the key's *slot*) plus typed arrays indexed by slot (where the record is, the key's modIndex).
 *
 * Why (issue 17, measured at 1M keys): with values as JS strings in a Map, every write stored a
 * fresh (young) string into a Map in the old generation. V8 must then scan each such old-to-new
 * pointer at every young-generation collection, and a scavenge took 28-35 ms at 1M keys; the
 * strings also cost ~16-24 bytes of header each and were counted again in the heap's headroom.
 * Here an overwrite stores no pointer at all (the Map's value is a small integer that does not
 * change; the bytes are copied into the slab), so a scavenge has nothing of the data to visit, and
 * the bytes are held once, outside the heap, in memory the process can give back.
 *
 * Records are appended to the current slab: `slot u32 | byteLength u32 | bytes`, padded to 4 bytes.
 * An overwrite or delete leaves the old record dead. Compaction (see `maybeCompact`): once the dead
 * bytes exceed a quarter of the live ones (and two slabs), the slab with the fewest live bytes is
 * walked record by record; a record is live when its slot still points at it; live records are
 * copied to the current slab and the emptied slab is reused or dropped. So the arena stays within
 * about 1.25x the live bytes plus two slabs, and each compaction step copies at most one slab.
 */

const SLAB_BYTES = 4 * 1024 * 1024;
/** A value larger than this gets a slab of its own (dropped whole once the value is replaced). */
const LARGE_RECORD = SLAB_BYTES / 4;
const HEADER = 8;
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
const decoder = new TextDecoder();

const padded = (n: number) => (n + 3) & ~3;

export interface ArenaStats {
  slabs: number;
  /** Bytes of all slabs (what the arena costs). */
  allocatedBytes: number;
  /** Bytes of live records, headers included. */
  liveBytes: number;
  /** Bytes of dead records not yet reclaimed. */
  deadBytes: number;
  compactions: number;
}

export class ValueArena {
  private readonly slots = new Map<string, number>();
  /** Per slot: slab id (-1: free slot), byte offset of its record, modIndex. */
  private slabOf = new Int32Array(1024).fill(-1);
  private offsetOf = new Uint32Array(1024);
  private modOf = new Float64Array(1024);
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;

  private readonly slabs: Array<Slab | undefined> = [];
  private readonly freeSlabIds: number[] = [];
  private readonly spare: Slab[] = [];
  private current = -1;
  private liveTotal = 0;
  private deadTotal = 0;
  private allocated = 0;
  private compactions = 0;
  /** Sum of key characters and value bytes (to size a snapshot image). */
  private weightTotal = 0;

  get size(): number {
    return this.slots.size;
  }

  /** Characters of the keys plus UTF-8 bytes of the values. */
  get weight(): number {
    return this.weightTotal;
  }

  stats(): ArenaStats {
    return {
      slabs: this.slabs.filter(Boolean).length,
      allocatedBytes: this.allocated,
      liveBytes: this.liveTotal,
      deadBytes: this.deadTotal,
      compactions: this.compactions,
    };
  }

  has(key: string): boolean {
    return this.slots.has(key);
  }

  get(key: string): string | undefined {
    const slot = this.slots.get(key);
    return slot === undefined ? undefined : this.valueAt(slot);
  }

  /** The modIndex stored with the key's value (0: unknown), or undefined if the key is absent. */
  modIndex(key: string): number | undefined {
    const slot = this.slots.get(key);
    return slot === undefined ? undefined : this.modOf[slot];
  }

  set(key: string, value: string, modIndex = 0): void {
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = this.newSlot();
      this.slots.set(key, slot);
      this.weightTotal += key.length;
    } else {
      this.weightTotal -= this.byteLengthAt(slot);
      this.free(slot);
    }
    this.modOf[slot] = modIndex;
    this.weightTotal += this.append(slot, value);
    this.maybeCompact();
  }

  delete(key: string): boolean {
    const slot = this.slots.get(key);
    if (slot === undefined) return false;
    this.slots.delete(key);
    this.weightTotal -= key.length + this.byteLengthAt(slot);
    this.free(slot);
    this.slabOf[slot] = -1;
    this.freeSlots.push(slot);
    this.maybeCompact();
    return true;
  }

  /** Every pair with its modIndex, in the Map's order (insertion order of the keys). */
  *entries(): IterableIterator<[string, string, number]> {
    for (const [key, slot] of this.slots) yield [key, this.valueAt(slot), this.modOf[slot]];
  }

  private valueAt(slot: number): string {
    const slab = this.slabs[this.slabOf[slot]]!;
    const at = this.offsetOf[slot];
    const length = slab.words[(at >> 2) + 1];
    return decoder.decode(slab.bytes.subarray(at + HEADER, at + HEADER + length));
  }

  private byteLengthAt(slot: number): number {
    return this.slabs[this.slabOf[slot]]!.words[(this.offsetOf[slot] >> 2) + 1];
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
    }
    return slot;
  }

  /** Marks the slot's record dead (the slot keeps its number). */
  private free(slot: number): void {
    const id = this.slabOf[slot];
    const slab = this.slabs[id]!;
    const size = HEADER + padded(slab.words[(this.offsetOf[slot] >> 2) + 1]);
    slab.live -= size;
    this.liveTotal -= size;
    this.deadTotal += size;
    if (slab.live === 0 && id !== this.current) this.dropSlab(id);
  }

  /** Writes the value's record for `slot` and points the slot at it; returns the byte length. */
  private append(slot: number, value: string): number {
    if (value.length * 3 + HEADER > LARGE_RECORD) {
      // A long value: its exact UTF-8 bytes first (one temporary copy), then a record that fits.
      const bytes = encoder.encode(value);
      if (HEADER + bytes.length > LARGE_RECORD) {
        const id = this.addSlab(padded(HEADER + bytes.length), false);
        const slab = this.slabs[id]!;
        slab.bytes.set(bytes, HEADER);
        return this.place(slot, id, bytes.length);
      }
      const slab = this.roomFor(bytes.length);
      slab.bytes.set(bytes, slab.used + HEADER);
      return this.place(slot, this.current, bytes.length);
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit, and most values are ASCII (1 byte each): try
    // the current slab's free space first, a fresh slab if the value did not fit.
    const worst = value.length * 3;
    const current = this.current >= 0 ? this.slabs[this.current]! : undefined;
    if (current && current.bytes.length - current.used - HEADER >= value.length) {
      const start = current.used + HEADER;
      const room = current.bytes.subarray(start, Math.min(current.bytes.length, start + worst));
      const { read, written } = encoder.encodeInto(value, room);
      if (read === value.length) return this.place(slot, this.current, written);
    }
    const slab = this.roomFor(worst);
    const { written } = encoder.encodeInto(
      value,
      slab.bytes.subarray(slab.used + HEADER, slab.used + HEADER + worst),
    );
    return this.place(slot, this.current, written);
  }

  /** The current slab if `length` bytes fit after a header, else a new current slab. */
  private roomFor(length: number): Slab {
    const current = this.current >= 0 ? this.slabs[this.current]! : undefined;
    if (current && current.bytes.length - current.used - HEADER >= length) return current;
    this.addSlab(SLAB_BYTES, true);
    return this.slabs[this.current]!;
  }

  /** The record's bytes are already at slab.used + HEADER: write its header and account for it. */
  private place(slot: number, id: number, length: number): number {
    const slab = this.slabs[id]!;
    const at = slab.used;
    slab.words[at >> 2] = slot;
    slab.words[(at >> 2) + 1] = length;
    const size = HEADER + padded(length);
    slab.used += size;
    slab.live += size;
    this.liveTotal += size;
    this.slabOf[slot] = id;
    this.offsetOf[slot] = at;
    return length;
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
      // Only shared slabs: a large value's own slab is dropped whole when the value goes.
      if (!slab || id === this.current || slab.bytes.length !== SLAB_BYTES) continue;
      if (slab.live < least) {
        least = slab.live;
        victim = id;
      }
    }
    if (victim < 0) return;
    this.compactSlab(victim);
  }

  private compactSlab(id: number): void {
    const slab = this.slabs[id]!;
    this.compactions++;
    let at = 0;
    while (at < slab.used && slab.live > 0) {
      const slot = slab.words[at >> 2];
      const length = slab.words[(at >> 2) + 1];
      const size = HEADER + padded(length);
      if (this.slabOf[slot] === id && this.offsetOf[slot] === at) {
        this.moveRecord(slot, slab, at, length);
        slab.live -= size;
        this.liveTotal -= size;
        this.deadTotal += size;
      }
      at += size;
    }
    this.dropSlab(id);
  }

  /** Copies a live record to the current slab (or a new one) and points its slot there. */
  private moveRecord(slot: number, from: Slab, at: number, length: number): void {
    const target = this.roomFor(length);
    target.bytes.set(from.bytes.subarray(at + HEADER, at + HEADER + length), target.used + HEADER);
    this.place(slot, this.current, length);
  }
}

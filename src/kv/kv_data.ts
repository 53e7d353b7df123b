/**
 * The key-value data of the state machine (each key's value and modIndex) that can be frozen for a
 * snapshot while it keeps taking writes: copy-on-write by generations. `freeze()` hands out the
 * current data (the *frozen generation*, a ValueArena) and from then on writes land in a small
 * overlay (values and deletion marks, as JS strings: few) in front of it; reads look at the overlay first. `thaw()`
 * folds the overlay back in. So a snapshot reads one consistent state, at its own pace, without
 * copying the data, and the extra memory it costs is bounded by the keys written while it runs
 * (not by the size of the state). The arena is not written while frozen, so it does not compact
 * either: the frozen records stay where the snapshot's iterator expects them.
 *
 * This is the in-memory counterpart of what bbolt gives etcd (a read transaction sees a frozen
 * B+tree while writers copy the pages they change) and of the RocksDB snapshot TiKV generates
 * its region snapshots from, off the Raft thread.
 */
import { type ArenaStats, ValueArena } from "./value_arena.ts";
import { CHUNK_BYTES, type FrameSource } from "./snapshot_image.ts";

const DELETED: unique symbol = Symbol("deleted");
const decoder = new TextDecoder();

interface Pending {
  value: string;
  modIndex: number;
}

/** What a snapshot reads: the frozen pairs with their modIndex, and how many and how heavy. */
export interface FrozenData {
  readonly size: number;
  /** UTF-8 bytes of the keys and values (to size an image). */
  readonly weight: number;
  pairs(): IterableIterator<[string, string, number]>;
  /** The image's data frames, encoded straight from the arena's bytes (snapshot_image.ts). */
  frames(): FrameSource;
}

/** UTF-8 length of a string (what the arena stores for a value). */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2; // a surrogate pair: 2 units, 4 bytes
        i++;
      } else n += 2; // lone surrogate: U+FFFD, 3 bytes
    } else n += 2;
  }
  return n;
}

export class KvData {
  private readonly base = new ValueArena();
  private overlay: Map<string, Pending | typeof DELETED> | undefined;
  private liveSize = 0;
  private liveWeight = 0;

  get size(): number {
    return this.overlay ? this.liveSize : this.base.size;
  }

  /** UTF-8 bytes of the current keys and values. */
  get weight(): number {
    return this.overlay ? this.liveWeight : this.base.weight;
  }

  get frozen(): boolean {
    return this.overlay !== undefined;
  }

  /** Memory of the arena that holds the values (see value_arena.ts). */
  arenaStats(): ArenaStats {
    return this.base.stats();
  }

  get(key: string): string | undefined {
    if (this.overlay) {
      const p = this.overlay.get(key);
      if (p !== undefined) return p === DELETED ? undefined : p.value;
    }
    return this.base.get(key);
  }

  /** The log index of the write that set the key's value (0: unknown); undefined if absent. */
  modIndex(key: string): number | undefined {
    if (this.overlay) {
      const p = this.overlay.get(key);
      if (p !== undefined) return p === DELETED ? undefined : p.modIndex;
    }
    return this.base.modIndex(key);
  }

  has(key: string): boolean {
    return this.modIndex(key) !== undefined;
  }

  set(key: string, value: string, modIndex = 0): this {
    if (!this.overlay) {
      this.base.set(key, value, modIndex);
      return this;
    }
    const old = this.get(key);
    if (old === undefined) {
      this.liveSize++;
      this.liveWeight += utf8Length(key);
    } else this.liveWeight -= utf8Length(old);
    this.liveWeight += utf8Length(value);
    this.overlay.set(key, { value, modIndex });
    return this;
  }

  /** set() from an image frame's UTF-8 bytes (snapshot_image.ts EncodedPairSink). */
  setEncoded(
    src: Uint8Array,
    keyAt: number,
    keyBytes: number,
    valueAt: number,
    valueBytes: number,
    modIndex: number,
  ): void {
    if (this.overlay) {
      const key = decoder.decode(src.subarray(keyAt, keyAt + keyBytes));
      this.set(key, decoder.decode(src.subarray(valueAt, valueAt + valueBytes)), modIndex);
    } else this.base.setEncoded(src, keyAt, keyBytes, valueAt, valueBytes, modIndex);
  }

  delete(key: string): boolean {
    if (!this.overlay) return this.base.delete(key);
    const old = this.get(key);
    if (old === undefined) return false;
    this.liveWeight -= utf8Length(key) + utf8Length(old);
    this.overlay.set(key, DELETED);
    this.liveSize--;
    return true;
  }

  /** The current pairs, in a stable order (frozen keys first, then keys added while frozen). */
  *entries(): IterableIterator<[string, string]> {
    for (const [k, v] of this.entriesWithModIndex()) yield [k, v];
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  *entriesWithModIndex(): IterableIterator<[string, string, number]> {
    const overlay = this.overlay;
    if (!overlay) return yield* this.base.entries();
    for (const pair of this.base.entries()) {
      const p = overlay.get(pair[0]);
      if (p === undefined) yield pair;
      else if (p !== DELETED) yield [pair[0], p.value, p.modIndex];
    }
    for (const [k, p] of overlay) if (p !== DELETED && !this.base.has(k)) yield [k, p.value, p.modIndex];
  }

  /**
   * Freezes the current state: the returned view does not change until `thaw()`, whatever is
   * written meanwhile. One generation at a time.
   */
  freeze(): FrozenData {
    if (this.overlay) throw new Error("already frozen: one snapshot at a time");
    const base = this.base;
    this.liveSize = base.size;
    this.liveWeight = base.weight;
    this.overlay = new Map();
    return {
      size: base.size,
      weight: base.weight,
      pairs: () => base.entries(),
      frames: () => {
        let next = 0;
        return (reserve) => {
          if (next >= base.slotEnd) return undefined;
          const frame = base.encodeFrame(next, CHUNK_BYTES, reserve);
          next = frame.next;
          return frame;
        };
      },
    };
  }

  /** Folds the writes made while frozen into the data (one step per key written meanwhile). */
  thaw(): void {
    const overlay = this.overlay;
    if (!overlay) return;
    this.overlay = undefined;
    for (const [k, p] of overlay) {
      if (p === DELETED) this.base.delete(k);
      else this.base.set(k, p.value, p.modIndex);
    }
  }
}

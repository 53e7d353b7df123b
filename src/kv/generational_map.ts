/**
 * A Map that can be frozen for a snapshot while it keeps taking writes: copy-on-write by
 * generations. `freeze()` hands out the current map (the *frozen generation*) and from then on
 * writes land in a small overlay (values and deletion marks) in front of it; reads look at the
 * overlay first. `thaw()` folds the overlay back in. So a snapshot reads one consistent state,
 * at its own pace, without copying the whole map, and the extra memory it costs is bounded by the
 * keys written while it runs (not by the size of the state).
 *
 * This is the in-memory counterpart of what bbolt gives etcd (a read transaction sees a frozen
 * B+tree while writers copy the pages they change) and of the RocksDB snapshot TiKV generates
 * its region snapshots from, off the Raft thread.
 */
const DELETED: unique symbol = Symbol("deleted");

export class GenerationalMap<K, V extends NonNullable<unknown>> {
  private base = new Map<K, V>();
  private overlay: Map<K, V | typeof DELETED> | undefined;
  /** Size while frozen (the base map's size is the frozen generation's). */
  private liveSize = 0;
  private liveWeight = 0;
  private frozenWeight = 0;

  /** `weigh` gives each entry a weight (for the KV state: its characters), summed in `weight`. */
  constructor(private readonly weigh: (key: K, value: V) => number = () => 0) {}

  /** Total weight of the current entries. */
  get weight(): number {
    return this.liveWeight;
  }

  /** Total weight of the frozen generation (0 when not frozen). */
  get weightFrozen(): number {
    return this.overlay ? this.frozenWeight : 0;
  }

  get size(): number {
    return this.overlay ? this.liveSize : this.base.size;
  }

  get frozen(): boolean {
    return this.overlay !== undefined;
  }

  get(key: K): V | undefined {
    if (this.overlay) {
      const v = this.overlay.get(key);
      if (v !== undefined) return v === DELETED ? undefined : v;
    }
    return this.base.get(key);
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  set(key: K, value: V): this {
    const old = this.get(key);
    this.liveWeight += this.weigh(key, value) - (old === undefined ? 0 : this.weigh(key, old));
    if (!this.overlay) {
      this.base.set(key, value);
      return this;
    }
    if (old === undefined) this.liveSize++;
    this.overlay.set(key, value);
    return this;
  }

  delete(key: K): boolean {
    const old = this.get(key);
    if (old === undefined) return false;
    this.liveWeight -= this.weigh(key, old);
    if (!this.overlay) return this.base.delete(key);
    this.overlay.set(key, DELETED);
    this.liveSize--;
    return true;
  }

  /** The current state, in a stable order (frozen keys first, then keys added while frozen). */
  *entries(): IterableIterator<[K, V]> {
    const overlay = this.overlay;
    if (!overlay) return yield* this.base.entries();
    for (const [k, v] of this.base) {
      const o = overlay.get(k);
      if (o === undefined) yield [k, v];
      else if (o !== DELETED) yield [k, o];
    }
    for (const [k, o] of overlay) if (o !== DELETED && !this.base.has(k)) yield [k, o];
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  /**
   * Freezes the current state: the returned map does not change until `thaw()`, whatever is
   * written meanwhile. One generation at a time.
   */
  freeze(): ReadonlyMap<K, V> {
    if (this.overlay) throw new Error("already frozen: one snapshot at a time");
    this.liveSize = this.base.size;
    this.frozenWeight = this.liveWeight;
    this.overlay = new Map();
    return this.base;
  }

  /** Folds the writes made while frozen into the map (costs one step per key written meanwhile). */
  thaw(): void {
    const overlay = this.overlay;
    if (!overlay) return;
    this.overlay = undefined;
    for (const [k, v] of overlay) {
      if (v === DELETED) this.base.delete(k);
      else this.base.set(k, v);
    }
  }
}

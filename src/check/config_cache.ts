/**
 * The search's memo: the configurations (set of linearized operations, model state) already reached.
 *
 * A configuration is stored compactly instead of as a full bitset (which would cost n/8 bytes each, and a
 * 100k-operation partition visits ~100k configurations):
 * - operations with a known outcome are numbered in call order, and the linearized ones are always
 *   "all of 0..lo-1, some of lo..hi-1, none from hi on", where hi - lo is about the concurrency. So a
 *   configuration keeps lo, hi and the bitset words covering [lo, hi).
 * - the linearized operations with an unknown outcome are an interned set (unknown_sets.ts): one id.
 *
 * `addUnlessCovered` also prunes by dominance: (known set K, state s, unknown set U) is covered by a stored
 * (K, s, U') with U' ⊆ U, because an unknown operation left pending may simply never take effect, so any
 * way to finish from the larger configuration also finishes from the stored one.
 *
 * Everything lives in growable typed arrays (a chained hash table), not in JS objects, to keep memory and
 * GC low.
 */

import type { UnknownSets } from "./unknown_sets.ts";

const EMPTY = -1;
const SMALLEST = 1 << 8;
/** Most configurations a search stores are one per op: sized for that, it rarely has to grow. */
const LARGEST_START = 1 << 17;

export class ConfigCache {
  #buckets: Int32Array<ArrayBuffer>;
  #mask: number;
  #size = 0;
  #next: Int32Array<ArrayBuffer>;
  #hash: Int32Array<ArrayBuffer>;
  #state: Int32Array<ArrayBuffer>;
  #lo: Int32Array<ArrayBuffer>;
  #hi: Int32Array<ArrayBuffer>;
  #wordsAt: Int32Array<ArrayBuffer>;
  #unknownSet: Int32Array<ArrayBuffer>;
  #words: Uint32Array<ArrayBuffer>;
  #wordsUsed = 0;
  readonly #sets: UnknownSets;

  /** `operations`: how many ops the partition has (the first guess at how many configurations it stores). */
  constructor(operations: number, sets: UnknownSets) {
    this.#sets = sets;
    let capacity = SMALLEST;
    while (capacity < operations && capacity < LARGEST_START) capacity *= 2;
    this.#buckets = new Int32Array(capacity * 2).fill(EMPTY);
    this.#mask = capacity * 2 - 1;
    this.#next = new Int32Array(capacity);
    this.#hash = new Int32Array(capacity);
    this.#state = new Int32Array(capacity);
    this.#lo = new Int32Array(capacity);
    this.#hi = new Int32Array(capacity);
    this.#wordsAt = new Int32Array(capacity);
    this.#unknownSet = new Int32Array(capacity);
    this.#words = new Uint32Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** Bytes held by the tables, for reports and memory limits. */
  get bytes(): number {
    return this.#buckets.byteLength + this.#next.byteLength * 7 + this.#words.byteLength;
  }

  /**
   * Returns false when an equal or dominating configuration is stored already; otherwise stores it and
   * returns true. `bits` is the known-operation bitset; `unknownSet` the id of the linearized unknown ops.
   */
  addUnlessCovered(
    hash: number,
    state: number,
    lo: number,
    hi: number,
    bits: Uint32Array,
    unknownSet: number,
  ): boolean {
    const firstWord = lo >> 5;
    const wordCount = hi > lo ? ((hi - 1) >> 5) - firstWord + 1 : 0;
    for (let e = this.#buckets[hash & this.#mask]; e !== EMPTY; e = this.#next[e]) {
      if (
        this.#hash[e] === hash && this.#state[e] === state && this.#lo[e] === lo && this.#hi[e] === hi &&
        this.#sameWords(e, bits, firstWord, wordCount) && this.#sets.isSubset(this.#unknownSet[e], unknownSet)
      ) {
        return false;
      }
    }
    this.#append(hash, state, lo, hi, bits, firstWord, wordCount, unknownSet);
    return true;
  }

  #sameWords(e: number, bits: Uint32Array, firstWord: number, wordCount: number): boolean {
    const at = this.#wordsAt[e];
    for (let i = 0; i < wordCount; i++) {
      if (this.#words[at + i] !== bits[firstWord + i]) return false;
    }
    return true;
  }

  #append(
    hash: number,
    state: number,
    lo: number,
    hi: number,
    bits: Uint32Array,
    firstWord: number,
    wordCount: number,
    unknownSet: number,
  ): void {
    if (this.#size === this.#next.length) this.#growEntries();
    if (this.#size * 4 >= this.#buckets.length * 3) this.#rehash();
    if (this.#wordsUsed + wordCount > this.#words.length) {
      this.#words = grow(this.#words, this.#wordsUsed + wordCount);
    }
    const e = this.#size++;
    this.#hash[e] = hash;
    this.#state[e] = state;
    this.#lo[e] = lo;
    this.#hi[e] = hi;
    this.#wordsAt[e] = this.#wordsUsed;
    // A plain loop, not set(subarray()): a view object per call would keep the GC busy.
    for (let i = 0; i < wordCount; i++) this.#words[this.#wordsUsed + i] = bits[firstWord + i];
    this.#wordsUsed += wordCount;
    this.#unknownSet[e] = unknownSet;
    const bucket = hash & this.#mask;
    this.#next[e] = this.#buckets[bucket];
    this.#buckets[bucket] = e;
  }

  #growEntries(): void {
    const n = this.#next.length * 2;
    this.#next = grow(this.#next, n);
    this.#hash = grow(this.#hash, n);
    this.#state = grow(this.#state, n);
    this.#lo = grow(this.#lo, n);
    this.#hi = grow(this.#hi, n);
    this.#wordsAt = grow(this.#wordsAt, n);
    this.#unknownSet = grow(this.#unknownSet, n);
  }

  #rehash(): void {
    this.#buckets = new Int32Array(this.#buckets.length * 2).fill(EMPTY);
    this.#mask = this.#buckets.length - 1;
    for (let e = 0; e < this.#size; e++) {
      const bucket = this.#hash[e] & this.#mask;
      this.#next[e] = this.#buckets[bucket];
      this.#buckets[bucket] = e;
    }
  }
}

function grow<T extends Int32Array | Uint32Array>(array: T, atLeast: number): T {
  let n = array.length * 2;
  while (n < atLeast) n *= 2;
  const bigger = new (array.constructor as { new (n: number): T })(n);
  bigger.set(array);
  return bigger;
}

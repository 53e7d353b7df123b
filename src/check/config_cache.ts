/**
 * The search's memo: the configurations (set of linearized operations, model state) already reached.
 *
 * A configuration is stored compactly instead of as a full bitset (which would cost n/8 bytes each, and a
 * 100k-operation partition visits ~100k configurations):
 * - operations with a known outcome are numbered in call order, and the linearized ones are always
 *   "all of 0..lo-1, some of lo..hi-1, none from hi on", where hi - lo is about the concurrency. So a
 *   configuration keeps lo, hi and the bitset words covering [lo, hi).
 * - operations with an unknown outcome are kept as the sorted list of those linearized (usually few).
 *
 * `addUnlessCovered` also prunes by dominance: (known set K, state s, unknown set U) is covered by a stored
 * (K, s, U') with U' ⊆ U, because an unknown operation left pending may simply never take effect, so any
 * way to finish from the larger configuration also finishes from the stored one.
 *
 * Everything lives in growable typed arrays (a chained hash table), not in JS objects, to keep memory and
 * GC low.
 */

const EMPTY = -1;

export class ConfigCache {
  #buckets = new Int32Array(1 << 12).fill(EMPTY);
  #mask = (1 << 12) - 1;
  #size = 0;
  #next = new Int32Array(1 << 12);
  #hash = new Int32Array(1 << 12);
  #state = new Int32Array(1 << 12);
  #lo = new Int32Array(1 << 12);
  #hi = new Int32Array(1 << 12);
  #wordsAt = new Int32Array(1 << 12);
  #unknownAt = new Int32Array(1 << 12);
  #unknownLen = new Int32Array(1 << 12);
  #words = new Uint32Array(1 << 12);
  #wordsUsed = 0;
  #unknowns = new Int32Array(1 << 10);
  #unknownsUsed = 0;

  get size(): number {
    return this.#size;
  }

  /** Bytes held by the tables, for reports and memory limits. */
  get bytes(): number {
    return this.#buckets.byteLength + this.#next.byteLength * 8 + this.#words.byteLength +
      this.#unknowns.byteLength;
  }

  /**
   * Returns false when an equal or dominating configuration is stored already; otherwise stores it and
   * returns true. `bits` is the known-operation bitset; `unknown` the sorted linearized unknown operations.
   */
  addUnlessCovered(
    hash: number,
    state: number,
    lo: number,
    hi: number,
    bits: Uint32Array,
    unknown: Int32Array,
    unknownLen: number,
  ): boolean {
    const firstWord = lo >> 5;
    const wordCount = hi > lo ? ((hi - 1) >> 5) - firstWord + 1 : 0;
    for (let e = this.#buckets[hash & this.#mask]; e !== EMPTY; e = this.#next[e]) {
      if (
        this.#hash[e] === hash && this.#state[e] === state && this.#lo[e] === lo && this.#hi[e] === hi &&
        this.#sameWords(e, bits, firstWord, wordCount) && this.#isSubset(e, unknown, unknownLen)
      ) {
        return false;
      }
    }
    this.#append(hash, state, lo, hi, bits, firstWord, wordCount, unknown, unknownLen);
    return true;
  }

  #sameWords(e: number, bits: Uint32Array, firstWord: number, wordCount: number): boolean {
    const at = this.#wordsAt[e];
    for (let i = 0; i < wordCount; i++) {
      if (this.#words[at + i] !== bits[firstWord + i]) return false;
    }
    return true;
  }

  /** Is the stored unknown set of entry e a subset of the (sorted) `unknown`? */
  #isSubset(e: number, unknown: Int32Array, unknownLen: number): boolean {
    const len = this.#unknownLen[e];
    if (len > unknownLen) return false;
    const at = this.#unknownAt[e];
    let j = 0;
    for (let i = 0; i < len; i++) {
      const want = this.#unknowns[at + i];
      while (j < unknownLen && unknown[j] < want) j++;
      if (j === unknownLen || unknown[j] !== want) return false;
      j++;
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
    unknown: Int32Array,
    unknownLen: number,
  ): void {
    if (this.#size === this.#next.length) this.#growEntries();
    if (this.#size * 4 >= this.#buckets.length * 3) this.#rehash();
    if (this.#wordsUsed + wordCount > this.#words.length) {
      this.#words = grow(this.#words, this.#wordsUsed + wordCount);
    }
    if (this.#unknownsUsed + unknownLen > this.#unknowns.length) {
      this.#unknowns = grow(this.#unknowns, this.#unknownsUsed + unknownLen);
    }
    const e = this.#size++;
    this.#hash[e] = hash;
    this.#state[e] = state;
    this.#lo[e] = lo;
    this.#hi[e] = hi;
    this.#wordsAt[e] = this.#wordsUsed;
    this.#words.set(bits.subarray(firstWord, firstWord + wordCount), this.#wordsUsed);
    this.#wordsUsed += wordCount;
    this.#unknownAt[e] = this.#unknownsUsed;
    this.#unknownLen[e] = unknownLen;
    this.#unknowns.set(unknown.subarray(0, unknownLen), this.#unknownsUsed);
    this.#unknownsUsed += unknownLen;
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
    this.#unknownAt = grow(this.#unknownAt, n);
    this.#unknownLen = grow(this.#unknownLen, n);
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

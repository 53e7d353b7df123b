/**
 * Checks one partition: the Wing & Gong / Lowe search as Porcupine does it (checker.go, checkSingle).
 *
 * Call and return events sit in one doubly-linked list in time order. The candidates to linearize next
 * are the calls before the first remaining return (the "window"). Linearizing an op takes its call and
 * return out of the list (they go back in when the search backtracks). When no candidate works, the op
 * of that first return had to come next and no order got there: the search undoes its last choice.
 * Configurations already seen are skipped (config_cache.ts).
 *
 * Unlike Porcupine, candidates are tried in order of return time rather than call time ("just in
 * time", as in Lowe's search): a long write is then not placed at its call by default, which otherwise
 * sends the search back over every op inside its interval. Three more reductions, all keeping the
 * search exhaustive:
 * - A read-only op (a get, a cas that returned false) that fits the current state is linearized at once
 *   and never reconsidered: any successful order can be rewritten to take it first (it is in the
 *   window, so nothing must precede it, and it changes no state). If the search fails after it, the
 *   configuration before it fails too.
 * - Operations with an unknown outcome have no return event: they may take effect at any time after
 *   their call, or never, so the search succeeds once every known-outcome op is linearized. They are
 *   tried after the known ones of the same window.
 * - A blind write (put, delete, write) is not tried right after an unknown op: trying it without the
 *   unknown op reaches a configuration that dominates (config_cache.ts).
 * - At a dead end, only the unknown ops that may help are tried (unknown_ops.ts).
 * - For models with extending writes (append: Model.extendsOnly/canExtend), a configuration is dropped when
 *   a pending read of the window needs a state the current one can no longer grow into, while every op
 *   that may still come before that read (called before it returned) only extends. In append histories the
 *   reads pin the order of the appends, and this cuts a wrong order at its first wrong step rather than
 *   when the read is the first remaining return (c50-ok: 1.30M steps before, 16.8k with it).
 *
 * The search is resumable (`run` takes a step budget), so a scheduler can share time between partitions
 * and no hard partition starves the others.
 */
import { ConfigCache } from "./config_cache.ts";
import type { Model } from "./model.ts";
import type { Operation } from "./operation.ts";
import { StateTable, type TextHash, textHash } from "./state_table.ts";
import { UnknownOps } from "./unknown_ops.ts";
import { UnknownSets } from "./unknown_sets.ts";

export type Verdict = "linearizable" | "not linearizable" | "unknown";

export interface SearchLimits {
  /** Date.now() after which the search gives up with "unknown". */
  deadline: number;
  /** Bytes of memo table after which the search gives up with "unknown" (shared out by the scheduler). */
  memoryBudgetBytes: number;
}

export interface SearchResult {
  verdict: Verdict;
  /** Op ids in linearization order: all known-outcome ops when linearizable, else the longest partial order. */
  linearization: number[];
  /** Not linearizable or unknown: the op that had to come next after the longest partial linearization. */
  breakingOpId?: number;
  /** Why the verdict is unknown. */
  reason?: string;
  steps: number;
  configs: number;
  cacheBytes: number;
}

const NONE = -1;
const LIMIT_CHECK_MASK = 4095;
/** Candidate classes, tried in this order within a window (then by return time, or call time if unknown). */
const READ_ONLY = 0;
const KNOWN = 1;
const UNKNOWN = 2;

export class PartitionSearch {
  readonly #model: Model;
  readonly #limits: SearchLimits;
  /** Known-outcome ops in call order (indexes 0..k-1), then unknown-outcome ops in call order (k..n-1). */
  readonly #ops: Operation[];
  readonly #k: number;
  readonly #opClass: Uint8Array;
  readonly #blind: Uint8Array;
  /** Per known op: the one state it fits in, or NONE (Model.requiredState). */
  readonly #required: Int32Array;
  /** Trial order among candidates: class first, then return time. */
  readonly #rank: Int32Array;
  readonly #zobrist: Int32Array;
  // The call and return events of the known-outcome ops; node 0 is the head.
  readonly #next: Int32Array;
  readonly #prev: Int32Array;
  readonly #nodeOp: Int32Array;
  readonly #nodeIsCall: Uint8Array;
  readonly #callNode: Int32Array;
  readonly #returnNode: Int32Array;
  readonly #states = new StateTable();
  /** Per op: the text it appends and its hash, where the model says the op only appends (see run()). */
  readonly #appended: Array<(TextHash & { text: string }) | undefined>;
  readonly #unknowns: UnknownOps;
  readonly #cache: ConfigCache;
  /** Which known ops are linearized. */
  readonly #bits: Uint32Array;
  // The search stack: each frame is one linearized op and what its push changed.
  readonly #stackOp: Int32Array;
  readonly #stackState: Int32Array;
  readonly #stackLo: Int32Array;
  readonly #stackHi: Int32Array;
  readonly #stackHash: Int32Array;
  /**
   * Candidates of the configuration at each depth, in a stack-shaped arena: [start, end), next to try.
   * Unknown ops are added only once the known candidates are exhausted (they rarely are needed, and a
   * long run accumulates many of them).
   */
  #candidates = new Int32Array(256);
  readonly #candStart: Int32Array;
  readonly #candEnd: Int32Array;
  readonly #candNext: Int32Array;
  readonly #unknownsAdded: Uint8Array;
  /** The growth check (see the top of this file): on when the model has it and no unknown op resets. */
  readonly #growthCheck: boolean;
  /** Per known op: it may set the state to anything (not read-only, not extending). */
  readonly #resets: Uint8Array;
  /** Fenwick tree over known ops (call order) counting the resetting ops not yet linearized. */
  readonly #pendingResets: Int32Array;
  /** Per known op: how many known ops were called at or before its return (may precede it). */
  readonly #calledByReturn: Int32Array;
  /** The op of the first remaining return at each depth (NONE if none): it had to come next. */
  readonly #windowEnd: Int32Array;
  /** The linearized unknown-outcome ops: an interned set, one per stack depth. */
  readonly #unknownSets: UnknownSets;
  readonly #stackUnknownSet: Int32Array;
  #unknownSet = 0;
  #depth = 0;
  #knownDone = 0;
  #state: number;
  /** All known ops below lo are linearized, none from hi on. */
  #lo = 0;
  #hi = 0;
  #hash = 0;
  #steps = 0;
  /** The longest partial linearization reached, and how much of the current stack still agrees with it
   * (so that recording a new longest one copies only where they differ, not the whole stack). */
  readonly #best: Int32Array;
  #bestDepth = -1;
  #bestAgrees = 0;
  #breakingOp = NONE;
  #result: SearchResult | undefined;

  constructor(operations: readonly Operation[], model: Model, limits: SearchLimits) {
    this.#model = model;
    this.#limits = limits;
    const known = operations.filter((o) => o.status === "ok").sort(byCall);
    // A read with an unknown outcome constrains nothing and changes nothing.
    const unknown = operations.filter((o) => o.status === "unknown" && !model.isReadOnly(o)).sort(byCall);
    const ops = this.#ops = [...known, ...unknown];
    const n = ops.length;
    const k = this.#k = known.length;
    // Plain loops: TypedArray.from with a map function is several times slower on 100k-op partitions.
    this.#opClass = new Uint8Array(n);
    this.#blind = new Uint8Array(n);
    this.#required = new Int32Array(n).fill(NONE);
    this.#state = this.#states.intern(model.init());
    for (let i = 0; i < n; i++) {
      const o = ops[i];
      this.#opClass[i] = i >= k ? UNKNOWN : model.isReadOnly(o) ? READ_ONLY : KNOWN;
      this.#blind[i] = model.isBlindWrite(o) ? 1 : 0;
      const required = i < k ? model.requiredState(o) : undefined;
      if (required !== undefined) this.#required[i] = this.#states.intern(required);
    }
    this.#unknowns = new UnknownOps(ops, k, model, this.#states);
    this.#appended = ops.map((o) => {
      const text = model.appendedText?.(o);
      return text === undefined ? undefined : { text, ...textHash(text) };
    });
    const rets = new Float64Array(k);
    for (let i = 0; i < k; i++) rets[i] = known[i].ret;
    const byReturn = Array.from({ length: k }, (_, i) => i).sort((a, b) => rets[a] - rets[b] || a - b);
    this.#rank = new Int32Array(k);
    byReturn.forEach((op, r) => this.#rank[op] = this.#opClass[op] * k + r);
    this.#zobrist = new Int32Array(k);
    for (let i = 0; i < k; i++) this.#zobrist[i] = mix32((i + 1) * 0x6d2b79f5);

    // The event list: calls (in call order) merged with returns (in return order), calls first at equal
    // times since intervals are closed.
    const nodes = 2 * k + 1;
    this.#next = new Int32Array(nodes);
    this.#prev = new Int32Array(nodes);
    this.#nodeOp = new Int32Array(nodes);
    this.#nodeIsCall = new Uint8Array(nodes);
    this.#callNode = new Int32Array(k);
    this.#returnNode = new Int32Array(k);
    for (let j = 1, c = 0, r = 0; j < nodes; j++) {
      const isCall = c < k && (r === k || known[c].call <= rets[byReturn[r]]);
      const op = isCall ? c++ : byReturn[r++];
      this.#nodeOp[j] = op;
      this.#nodeIsCall[j] = isCall ? 1 : 0;
      if (isCall) this.#callNode[op] = j;
      else this.#returnNode[op] = j;
    }
    for (let j = 0; j < nodes; j++) {
      this.#next[j] = j + 1 < nodes ? j + 1 : NONE;
      this.#prev[j] = j - 1;
    }

    this.#bits = new Uint32Array((k + 31) >> 5);

    this.#stackOp = new Int32Array(n);
    this.#stackState = new Int32Array(n);
    this.#stackLo = new Int32Array(n);
    this.#stackHi = new Int32Array(n);
    this.#stackHash = new Int32Array(n);
    this.#best = new Int32Array(n);
    this.#candStart = new Int32Array(n + 1);
    this.#candEnd = new Int32Array(n + 1);
    this.#candNext = new Int32Array(n + 1);
    this.#unknownsAdded = new Uint8Array(n + 1);
    this.#windowEnd = new Int32Array(n + 1);
    this.#unknownSets = new UnknownSets(n);
    this.#cache = new ConfigCache(n, this.#unknownSets);
    this.#stackUnknownSet = new Int32Array(n);
    this.#resets = new Uint8Array(k);
    this.#pendingResets = new Int32Array(k + 1);
    this.#calledByReturn = new Int32Array(k);
    const extendsOnly = model.extendsOnly;
    this.#growthCheck = extendsOnly !== undefined && model.canExtend !== undefined &&
      unknown.every((o) => extendsOnly(o));
    if (this.#growthCheck) {
      for (let i = 0; i < k; i++) {
        if (this.#opClass[i] === KNOWN && !extendsOnly!(known[i])) {
          this.#resets[i] = 1;
          this.#addPendingReset(i, 1);
        }
        // Known ops are in call order: binary search for the first called after this op's return.
        let lo = 0, hi = k;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (known[mid].call <= known[i].ret) lo = mid + 1;
          else hi = mid;
        }
        this.#calledByReturn[i] = lo;
      }
    }
    this.#collectKnownCandidates();
  }

  /** Memory held by the memo table. */
  get cacheBytes(): number {
    return this.#cache.bytes;
  }

  /** Searches for up to `maxSteps` more steps; returns the result once there is one, else undefined. */
  run(maxSteps: number): SearchResult | undefined {
    if (this.#result) return this.#result;
    const stopAt = this.#steps + maxSteps;
    const k = this.#k;
    const bits = this.#bits;
    while (this.#steps < stopAt) {
      if (this.#knownDone === k) return this.#finish("linearizable");
      if ((++this.#steps & LIMIT_CHECK_MASK) === 0) {
        if (Date.now() > this.#limits.deadline) return this.#finish("unknown", "time budget exceeded");
        if (this.#cache.bytes > this.#limits.memoryBudgetBytes) {
          return this.#finish("unknown", memoryReason(this.#limits));
        }
      }
      const d = this.#depth;
      if (this.#candNext[d] === this.#candEnd[d]) {
        if (!this.#unknownsAdded[d]) this.#addUnknownCandidates();
        else if (!this.#backtrack()) return this.#finish("not linearizable");
        continue;
      }
      const op = this.#candidates[this.#candNext[d]++];
      const appended = this.#appended[op];
      let afterId: number;
      if (appended !== undefined) {
        afterId = this.#states.internAppended(this.#state, appended.text, appended);
      } else {
        const after = this.#model.step(this.#states.value(this.#state), this.#ops[op]);
        if (after === undefined) continue;
        afterId = this.#states.intern(after);
      }
      let lo = this.#lo;
      let hi = this.#hi;
      let hash = this.#hash;
      let unknownSet = this.#unknownSet;
      if (op < k) {
        bits[op >> 5] |= 1 << (op & 31);
        if (op === lo) { while (lo < k && (bits[lo >> 5] >>> (lo & 31)) & 1) lo++; }
        if (op >= hi) hi = op + 1;
        hash ^= this.#zobrist[op];
      } else {
        unknownSet = this.#unknownSets.with(unknownSet, op);
      }
      if (this.#opClass[op] === READ_ONLY) {
        // A read-only op that fits settles this configuration: it succeeds after that op or not at all.
        this.#candNext[d] = this.#candEnd[d];
        this.#unknownsAdded[d] = 1;
      }
      const key = (hash ^ Math.imul(afterId + 1, 0x9e3779b1)) | 0;
      if (!this.#cache.addUnlessCovered(key, afterId, lo, hi, bits, unknownSet)) {
        if (op < k) bits[op >> 5] &= ~(1 << (op & 31));
        continue;
      }
      this.#push(op, afterId, lo, hi, hash, unknownSet);
    }
    return undefined;
  }

  /** Ends the search with "unknown" (the scheduler stops it), keeping the longest partial linearization. */
  abandon(reason: string): SearchResult {
    return this.#result ?? this.#finish("unknown", reason);
  }

  #push(op: number, state: number, lo: number, hi: number, hash: number, unknownSet: number): void {
    const d = this.#depth++;
    this.#stackOp[d] = op;
    this.#stackState[d] = this.#state;
    this.#stackLo[d] = this.#lo;
    this.#stackHi[d] = this.#hi;
    this.#stackHash[d] = this.#hash;
    this.#stackUnknownSet[d] = this.#unknownSet;
    this.#state = state;
    this.#unknownSet = unknownSet;
    this.#lo = lo;
    this.#hi = hi;
    this.#hash = hash;
    if (this.#bestAgrees === d && d < this.#bestDepth && this.#best[d] === op) this.#bestAgrees++;
    this.#unknowns.update(op, -1);
    if (op < this.#k && this.#resets[op]) this.#addPendingReset(op, -1);
    if (op < this.#k) {
      this.#knownDone++;
      this.#unlink(this.#callNode[op]);
      this.#unlink(this.#returnNode[op]);
    }
    this.#collectKnownCandidates();
  }

  /** Right after an unknown op, a blind write is not worth trying (see the top of this file). */
  #skipBlind(): boolean {
    return this.#depth > 0 && this.#stackOp[this.#depth - 1] >= this.#k;
  }

  /** Starts the candidate list of the current depth: the known calls before the first return, in trial order. */
  #collectKnownCandidates(): void {
    const d = this.#depth;
    const start = d === 0 ? 0 : this.#candEnd[d - 1];
    const skipBlind = this.#skipBlind();
    let end = start;
    let node = this.#next[0];
    for (; node !== NONE && this.#nodeIsCall[node]; node = this.#next[node]) {
      const op = this.#nodeOp[node];
      if (skipBlind && this.#blind[op]) continue;
      if (end === this.#candidates.length) this.#candidates = grow(this.#candidates);
      // Insertion sort by rank: windows are small.
      const rank = this.#rank[op];
      let i = end++;
      while (i > start && this.#rank[this.#candidates[i - 1]] > rank) {
        this.#candidates[i] = this.#candidates[i - 1];
        i--;
      }
      this.#candidates[i] = op;
    }
    this.#candStart[d] = start;
    this.#candNext[d] = start;
    this.#candEnd[d] = end;
    this.#unknownsAdded[d] = this.#ops.length === this.#k ? 1 : 0;
    if (this.#growthCheck && !this.#canStillServeReads(start, end)) {
      // A dead configuration: no candidate, no unknown op; the next step backtracks.
      this.#candEnd[d] = start;
      this.#unknownsAdded[d] = 1;
    }
    this.#windowEnd[d] = node === NONE ? NONE : this.#nodeOp[node];
  }

  /**
   * False when a read of the window needs a state the current one cannot grow into, and only extending
   * ops can still come before it (no resetting op called before its return is left).
   */
  #canStillServeReads(start: number, end: number): boolean {
    const state = this.#states.value(this.#state);
    for (let i = start; i < end; i++) {
      const op = this.#candidates[i];
      if (
        this.#opClass[op] !== READ_ONLY || this.#required[op] === NONE || this.#required[op] === this.#state
      ) {
        continue;
      }
      if (this.#pendingResetsBefore(this.#calledByReturn[op]) > 0) continue;
      if (!this.#model.canExtend!(state, this.#states.value(this.#required[op]))) return false;
    }
    return true;
  }

  #addPendingReset(op: number, delta: number): void {
    for (let i = op + 1; i <= this.#k; i += i & -i) this.#pendingResets[i] += delta;
  }

  /** Resetting ops not yet linearized among known ops 0..count-1. */
  #pendingResetsBefore(count: number): number {
    let sum = 0;
    for (let i = count; i > 0; i -= i & -i) sum += this.#pendingResets[i];
    return sum;
  }

  /** Adds the unknown ops called before the first remaining return that may help (unknown_ops.ts). */
  #addUnknownCandidates(): void {
    const d = this.#depth;
    const end = this.#windowEnd[d];
    // The states the known candidates need; undefined once one of them fits in several.
    let required: number[] | undefined = [];
    for (let i = this.#candStart[d]; required && i < this.#candEnd[d]; i++) {
      const op = this.#candidates[i];
      if (this.#blind[op]) continue;
      if (this.#required[op] === NONE) required = undefined;
      else required.push(this.#required[op]);
    }
    let at = this.#candEnd[d];
    this.#unknowns.candidates(
      this.#state,
      required,
      end === NONE ? Infinity : this.#ops[end].ret,
      this.#skipBlind(),
      (op) => {
        if (at === this.#candidates.length) this.#candidates = grow(this.#candidates);
        this.#candidates[at++] = op;
      },
    );
    this.#candEnd[d] = at;
    this.#unknownsAdded[d] = 1;
  }

  /** Undoes the last choice; false when there is none left (not linearizable). */
  #backtrack(): boolean {
    const depth = this.#depth;
    if (depth > this.#bestDepth) {
      this.#best.set(this.#stackOp.subarray(this.#bestAgrees, depth), this.#bestAgrees);
      this.#bestDepth = this.#bestAgrees = depth;
      this.#breakingOp = this.#windowEnd[depth];
    }
    if (depth === 0) return false;
    const d = --this.#depth;
    if (this.#bestAgrees > d) this.#bestAgrees = d;
    const op = this.#stackOp[d];
    this.#unknowns.update(op, 1);
    if (op < this.#k && this.#resets[op]) this.#addPendingReset(op, 1);
    this.#state = this.#stackState[d];
    this.#lo = this.#stackLo[d];
    this.#hi = this.#stackHi[d];
    this.#hash = this.#stackHash[d];
    this.#unknownSet = this.#stackUnknownSet[d];
    if (op < this.#k) {
      this.#bits[op >> 5] &= ~(1 << (op & 31));
      this.#knownDone--;
      this.#relink(this.#returnNode[op]);
      this.#relink(this.#callNode[op]);
    }
    return true;
  }

  // Dancing links: a node taken out keeps its own links, so putting nodes back in reverse order restores the list.
  #unlink(x: number): void {
    this.#next[this.#prev[x]] = this.#next[x];
    if (this.#next[x] !== NONE) this.#prev[this.#next[x]] = this.#prev[x];
  }

  #relink(x: number): void {
    if (this.#next[x] !== NONE) this.#prev[this.#next[x]] = x;
    this.#next[this.#prev[x]] = x;
  }

  #finish(verdict: Verdict, reason?: string): SearchResult {
    // Stopped early (unknown), the current stack may be the longest partial linearization so far.
    const order = verdict === "linearizable" || this.#depth > this.#bestDepth
      ? this.#stackOp.subarray(0, this.#depth)
      : this.#best.subarray(0, this.#bestDepth);
    const linearization = Array.from(order, (i) => this.#ops[i].id);
    const result: SearchResult = {
      verdict,
      linearization,
      steps: this.#steps,
      configs: this.#cache.size,
      cacheBytes: this.#cache.bytes,
    };
    const breaking = this.#depth > this.#bestDepth ? this.#windowEnd[this.#depth] : this.#breakingOp;
    if (verdict !== "linearizable" && breaking !== NONE) result.breakingOpId = this.#ops[breaking].id;
    if (reason) result.reason = reason;
    this.#result = result;
    return result;
  }
}

export function memoryReason(limits: SearchLimits): string {
  return `memory budget (${Number((limits.memoryBudgetBytes / 1e6).toPrecision(3))} MB) exceeded`;
}

/** Runs a whole search in one go (tests, small histories). */
export function searchPartition(
  operations: readonly Operation[],
  model: Model,
  limits: SearchLimits,
): SearchResult {
  const search = new PartitionSearch(operations, model, limits);
  let result: SearchResult | undefined;
  while (!(result = search.run(1 << 30)));
  return result;
}

function grow(array: Int32Array<ArrayBuffer>, atLeast = 0): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(Math.max(array.length * 2, atLeast));
  bigger.set(array);
  return bigger;
}

function byCall(a: Operation, b: Operation): number {
  return a.call - b.call || a.id - b.id;
}

/** MurmurHash3's 32-bit finalizer: turns a counter into well-mixed bits for Zobrist hashing. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return x ^ (x >>> 16);
}

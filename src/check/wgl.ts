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
 * - Unknown blind writes pile up in long runs (every timed-out put stays a candidate forever), so at a
 *   dead end only some are tried: one per resulting value (two that write the same value are
 *   interchangeable); one for all values no pending op looks at (Model.distinguishes: such values are
 *   interchangeable too); and when every known candidate needs one exact value (Model.requiredState)
 *   and no other kind of unknown op is pending, only those that write such a value. The first known op
 *   after a run of unknown blind writes sees only the last one, so nothing else could help.
 *
 * The search is resumable (`run` takes a step budget), so a scheduler can share time between partitions
 * and no hard partition starves the others.
 */
import { ConfigCache } from "./config_cache.ts";
import type { Model, ModelState } from "./model.ts";
import type { Operation } from "./operation.ts";

export type Verdict = "linearizable" | "not linearizable" | "unknown";

export interface SearchLimits {
  /** Date.now() after which the search gives up with "unknown". */
  deadline: number;
  /** Stored configurations after which the search gives up with "unknown" (a memory bound). */
  maxConfigs: number;
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
  /** Per unknown blind write: the state it sets. */
  readonly #writes: Int32Array;
  /** The states each op tells apart (Model.distinguishes), as [start, end) into #refList. */
  readonly #refStart: Int32Array;
  readonly #refList: Int32Array;
  /** Per state: how many not yet linearized ops tell it apart. Zero means no pending op looks at it. */
  #refCount = new Int32Array(64);
  /** Some op depends on the state in a way Model.distinguishes cannot describe (append). */
  readonly #asymmetric: boolean;
  /** Per unknown op that is not a blind write: the state it leads to from each state it tells apart
   * (parallel to #refList), and whether it leaves every other state unchanged (a cas). */
  readonly #leadsTo: Int32Array;
  readonly #stillOutside: Uint8Array;
  /** Call times of the ops, and the unknown ops that are not blind writes (they chain: see #wantedStates). */
  readonly #calls: Float64Array;
  readonly #chainable: Int32Array;
  /** Marks the states already written by a candidate of the dead end being filled (stamp = dead end number). */
  #writeStamp = new Int32Array(64);
  #deadEnds = 0;
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
  // Model states, interned: equal states share one id.
  readonly #stateIds = new Map<ModelState, number>();
  readonly #states: ModelState[] = [];
  readonly #cache = new ConfigCache();
  /** Which known ops are linearized. */
  readonly #bits: Uint32Array;
  /** Which unknown ops are linearized. */
  readonly #unknownDone: Uint8Array;
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
  #candidates = new Int32Array(1024);
  readonly #candStart: Int32Array;
  readonly #candEnd: Int32Array;
  readonly #candNext: Int32Array;
  readonly #unknownsAdded: Uint8Array;
  /** The op of the first remaining return at each depth (NONE if none): it had to come next. */
  readonly #windowEnd: Int32Array;
  /** The linearized unknown-outcome ops, sorted; and that set plus the candidate being tried. */
  readonly #unknownSet: Int32Array;
  readonly #candidateSet: Int32Array;
  #unknownCount = 0;
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
    this.#opClass = Uint8Array.from(
      ops,
      (o, i) => i >= k ? UNKNOWN : model.isReadOnly(o) ? READ_ONLY : KNOWN,
    );
    this.#blind = Uint8Array.from(ops, (o) => model.isBlindWrite(o) ? 1 : 0);
    this.#state = this.#intern(model.init());
    this.#required = Int32Array.from(ops, (o, i) => {
      const required = i < k ? model.requiredState(o) : undefined;
      return required === undefined ? NONE : this.#intern(required);
    });
    this.#writes = Int32Array.from(
      ops,
      (o, i) => i >= k && this.#blind[i] ? this.#intern(model.step(model.init(), o)!) : NONE,
    );
    this.#refStart = new Int32Array(n + 1);
    const refs: number[] = [];
    const symmetric = new Uint8Array(n);
    ops.forEach((o, i) => {
      this.#refStart[i] = refs.length;
      const told = model.distinguishes(o);
      symmetric[i] = told === undefined ? 0 : 1;
      for (const state of told ?? []) refs.push(this.#intern(state));
    });
    this.#refStart[n] = refs.length;
    this.#refList = Int32Array.from(refs);
    this.#asymmetric = symmetric.includes(0);
    for (const state of refs) this.#countRef(state, 1);
    this.#calls = Float64Array.from(ops, (o) => o.call);
    this.#chainable = Int32Array.from(
      Array.from({ length: n - k }, (_, i) => k + i).filter((i) => !this.#blind[i]),
    );
    this.#leadsTo = new Int32Array(refs.length).fill(NONE);
    this.#stillOutside = new Uint8Array(n);
    for (let i = k; i < n; i++) {
      if (this.#blind[i]) continue;
      const told = this.#refList.subarray(this.#refStart[i], this.#refStart[i + 1]);
      told.forEach((state, j) => {
        const after = model.step(this.#states[state], ops[i]);
        this.#leadsTo[this.#refStart[i] + j] = after === undefined ? NONE : this.#intern(after);
      });
      // Model.distinguishes promises alike behaviour outside `told`: one state there shows it.
      const probe = this.#states.findIndex((_, id) => !told.includes(id));
      if (symmetric[i] && probe >= 0) {
        this.#stillOutside[i] = model.step(this.#states[probe], ops[i]) === this.#states[probe] ? 1 : 0;
      }
    }
    const byReturn = Array.from({ length: k }, (_, i) => i).sort((a, b) => ops[a].ret - ops[b].ret || a - b);
    this.#rank = new Int32Array(k);
    byReturn.forEach((op, r) => this.#rank[op] = this.#opClass[op] * k + r);
    this.#zobrist = new Int32Array(k);
    for (let i = 0; i < k; i++) this.#zobrist[i] = mix32((i + 1) * 0x6d2b79f5);

    // Calls before returns at equal times: intervals are closed.
    const events: Array<{ time: number; isCall: boolean; op: number }> = [];
    for (let i = 0; i < k; i++) {
      events.push({ time: ops[i].call, isCall: true, op: i }, { time: ops[i].ret, isCall: false, op: i });
    }
    events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));
    const nodes = events.length + 1;
    this.#next = new Int32Array(nodes);
    this.#prev = new Int32Array(nodes);
    this.#nodeOp = new Int32Array(nodes);
    this.#nodeIsCall = new Uint8Array(nodes);
    this.#callNode = new Int32Array(k);
    this.#returnNode = new Int32Array(k);
    for (let j = 0; j < nodes; j++) {
      this.#next[j] = j + 1 < nodes ? j + 1 : NONE;
      this.#prev[j] = j - 1;
    }
    events.forEach((e, j) => {
      this.#nodeOp[j + 1] = e.op;
      this.#nodeIsCall[j + 1] = e.isCall ? 1 : 0;
      if (e.isCall) this.#callNode[e.op] = j + 1;
      else this.#returnNode[e.op] = j + 1;
    });

    this.#bits = new Uint32Array((k + 31) >> 5);
    this.#unknownDone = new Uint8Array(n);
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
    this.#unknownSet = new Int32Array(n - k + 1);
    this.#candidateSet = new Int32Array(n - k + 1);
    this.#collectKnownCandidates();
  }

  get steps(): number {
    return this.#steps;
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
        if (this.#cache.size > this.#limits.maxConfigs) {
          return this.#finish(
            "unknown",
            `search space too large (over ${this.#limits.maxConfigs} configurations stored)`,
          );
        }
      }
      const d = this.#depth;
      if (this.#candNext[d] === this.#candEnd[d]) {
        if (!this.#unknownsAdded[d]) this.#addUnknownCandidates();
        else if (!this.#backtrack()) return this.#finish("not linearizable");
        continue;
      }
      const op = this.#candidates[this.#candNext[d]++];
      const after = this.#model.step(this.#states[this.#state], this.#ops[op]);
      if (after === undefined) continue;
      const afterId = this.#intern(after);
      let lo = this.#lo;
      let hi = this.#hi;
      let hash = this.#hash;
      let unknowns = this.#unknownSet;
      let unknownLen = this.#unknownCount;
      if (op < k) {
        bits[op >> 5] |= 1 << (op & 31);
        if (op === lo) { while (lo < k && (bits[lo >> 5] >>> (lo & 31)) & 1) lo++; }
        if (op >= hi) hi = op + 1;
        hash ^= this.#zobrist[op];
      } else {
        insertSorted(this.#unknownSet, unknownLen, op, this.#candidateSet);
        unknowns = this.#candidateSet;
        unknownLen++;
      }
      if (this.#opClass[op] === READ_ONLY) {
        // A read-only op that fits settles this configuration: it succeeds after that op or not at all.
        this.#candNext[d] = this.#candEnd[d];
        this.#unknownsAdded[d] = 1;
      }
      const key = (hash ^ Math.imul(afterId + 1, 0x9e3779b1)) | 0;
      if (!this.#cache.addUnlessCovered(key, afterId, lo, hi, bits, unknowns, unknownLen)) {
        if (op < k) bits[op >> 5] &= ~(1 << (op & 31));
        continue;
      }
      this.#push(op, afterId, lo, hi, hash, unknownLen);
    }
    return undefined;
  }

  /** Ends the search with "unknown" (the scheduler stops it), keeping the longest partial linearization. */
  abandon(reason: string): SearchResult {
    return this.#result ?? this.#finish("unknown", reason);
  }

  #push(op: number, state: number, lo: number, hi: number, hash: number, unknownLen: number): void {
    const d = this.#depth++;
    this.#stackOp[d] = op;
    this.#stackState[d] = this.#state;
    this.#stackLo[d] = this.#lo;
    this.#stackHi[d] = this.#hi;
    this.#stackHash[d] = this.#hash;
    this.#state = state;
    this.#lo = lo;
    this.#hi = hi;
    this.#hash = hash;
    if (this.#bestAgrees === d && d < this.#bestDepth && this.#best[d] === op) this.#bestAgrees++;
    for (let r = this.#refStart[op]; r < this.#refStart[op + 1]; r++) this.#refCount[this.#refList[r]]--;
    if (op < this.#k) {
      this.#knownDone++;
      this.#unlink(this.#callNode[op]);
      this.#unlink(this.#returnNode[op]);
    } else {
      this.#unknownSet.set(this.#candidateSet.subarray(0, unknownLen));
      this.#unknownCount = unknownLen;
      this.#unknownDone[op] = 1;
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
    this.#windowEnd[d] = node === NONE ? NONE : this.#nodeOp[node];
  }

  /** Adds the unknown ops called before the first remaining return that may help (see the top of this file). */
  #addUnknownCandidates(): void {
    const d = this.#depth;
    const end = this.#windowEnd[d];
    const until = end === NONE ? Infinity : this.#ops[end].ret;
    const skipBlind = this.#skipBlind();
    const wanted = this.#wantedStates(until);
    const stamp = ++this.#deadEnds;
    if (this.#writeStamp.length < this.#states.length) {
      this.#writeStamp = grow(this.#writeStamp, this.#states.length);
    }
    let unlookedTried = false;
    let at = this.#candEnd[d];
    for (let op = this.#k; op < this.#ops.length && this.#calls[op] <= until; op++) {
      if (this.#unknownDone[op]) continue;
      if (this.#blind[op]) {
        if (skipBlind) continue;
        const write = this.#writes[op];
        if (this.#writeStamp[write] === stamp || (wanted && !wanted.has(write))) continue;
        const lookedAt = this.#asymmetric || (this.#refCount[write] ?? 0) > 0;
        if (!lookedAt && unlookedTried) continue;
        this.#writeStamp[write] = stamp;
        if (!lookedAt) unlookedTried = true;
      } else {
        // An op that leaves the state as it is reaches a configuration the current one dominates.
        const after = this.#leadsFrom(op, this.#state);
        if (after === this.#state || (wanted && after !== NONE && !wanted.has(after))) continue;
      }
      if (at === this.#candidates.length) this.#candidates = grow(this.#candidates);
      this.#candidates[at++] = op;
    }
    this.#candEnd[d] = at;
    this.#unknownsAdded[d] = 1;
  }

  /**
   * The states some run of pending unknown ops must end in for a known candidate to fit next: the states
   * the known candidates require, plus the states from which a pending cas-like op leads into one of
   * those. Undefined when that cannot be told (a candidate fits in several states, or an unknown op
   * changes states in ways Model.distinguishes does not describe): then every unknown op may help.
   */
  #wantedStates(until: number): Set<number> | undefined {
    const d = this.#depth;
    const wanted = new Set<number>();
    for (let i = this.#candStart[d]; i < this.#candEnd[d]; i++) {
      const op = this.#candidates[i];
      if (this.#blind[op]) continue;
      if (this.#required[op] === NONE) return undefined;
      wanted.add(this.#required[op]);
    }
    const chainable = this.#chainable;
    for (let grew = true; grew;) {
      grew = false;
      for (let i = 0; i < chainable.length && this.#calls[chainable[i]] <= until; i++) {
        const op = chainable[i];
        if (this.#unknownDone[op]) continue;
        if (!this.#stillOutside[op]) return undefined;
        for (let r = this.#refStart[op]; r < this.#refStart[op + 1]; r++) {
          if (wanted.has(this.#leadsTo[r]) && !wanted.has(this.#refList[r])) {
            wanted.add(this.#refList[r]);
            grew = true;
          }
        }
      }
    }
    return wanted;
  }

  /** The state a pending unknown op (not a blind write) leads to from `state`, or NONE when not known ahead. */
  #leadsFrom(op: number, state: number): number {
    for (let r = this.#refStart[op]; r < this.#refStart[op + 1]; r++) {
      if (this.#refList[r] === state) return this.#leadsTo[r];
    }
    return this.#stillOutside[op] ? state : NONE;
  }

  #countRef(state: number, delta: number): void {
    if (state >= this.#refCount.length) this.#refCount = grow(this.#refCount, state + 1);
    this.#refCount[state] += delta;
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
    for (let r = this.#refStart[op]; r < this.#refStart[op + 1]; r++) this.#refCount[this.#refList[r]]++;
    this.#state = this.#stackState[d];
    this.#lo = this.#stackLo[d];
    this.#hi = this.#stackHi[d];
    this.#hash = this.#stackHash[d];
    if (op < this.#k) {
      this.#bits[op >> 5] &= ~(1 << (op & 31));
      this.#knownDone--;
      this.#relink(this.#returnNode[op]);
      this.#relink(this.#callNode[op]);
    } else {
      this.#unknownCount = removeSorted(this.#unknownSet, this.#unknownCount, op);
      this.#unknownDone[op] = 0;
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

  #intern(s: ModelState): number {
    let id = this.#stateIds.get(s);
    if (id === undefined) {
      id = this.#states.length;
      this.#states.push(s);
      this.#stateIds.set(s, id);
    }
    return id;
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

/** Writes `sorted[0..len)` with `value` inserted into `out`. */
function insertSorted(sorted: Int32Array, len: number, value: number, out: Int32Array): void {
  let i = 0;
  for (; i < len && sorted[i] < value; i++) out[i] = sorted[i];
  out[i] = value;
  for (; i < len; i++) out[i + 1] = sorted[i];
}

/** Removes `value` from `sorted[0..len)` in place; returns the new length. */
function removeSorted(sorted: Int32Array, len: number, value: number): number {
  const at = sorted.subarray(0, len).indexOf(value);
  sorted.copyWithin(at, at + 1, len);
  return len - 1;
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

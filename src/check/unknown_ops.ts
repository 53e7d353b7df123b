/**
 * The unknown-outcome ops of one partition, and which of them are worth trying when the search is stuck.
 *
 * A timed-out op may take effect at any time after its call, so every one stays a candidate until the
 * end of the history, and a long run piles up thousands. At a dead end (no known-outcome candidate
 * works) trying them all costs O(pending) each time, and the search hits a dead end at most ops. So the
 * candidates come from indexes, and only these are tried (each rule keeps the search exhaustive):
 * - Blind writes (put, delete): one per state written; two that write the same state are
 *   interchangeable, since either can still be applied later.
 * - Among blind writes of states no pending op looks at (Model.distinguishes), just one: any op that
 *   could follow behaves alike in all such states, so they are interchangeable too.
 * - When every known candidate fits in one exact state (Model.requiredState), only blind writes of
 *   those states, or of states from which a pending cas leads into one: the first known op after a run
 *   of unknown ops sees only what the run's last effective op left.
 * - A cas only where it changes the state (elsewhere it is a no-op, dominated by not applying it).
 * Ops whose effect Model.distinguishes cannot describe (append) switch the pruning off for their partition.
 */
import type { Model } from "./model.ts";
import type { Operation } from "./operation.ts";
import type { StateTable } from "./state_table.ts";

const NONE = -1;

export class UnknownOps {
  /** Op indexes as the search numbers them: unknown ops are `first` .. calls.length-1, in call order. */
  readonly #first: number;
  readonly #calls: Float64Array;
  readonly #blind: Uint8Array;
  readonly #done: Uint8Array;
  /** Some op depends on the state in a way Model.distinguishes cannot describe: no pruning then. */
  readonly #asymmetric: boolean;
  /** Per op: the states it tells apart, as [start, end) into #told. */
  readonly #toldStart: Int32Array;
  readonly #told: Int32Array;
  /** Per state: how many ops not yet linearized tell it apart (zero: no pending op looks at it). */
  #lookers: Int32Array;
  // Blind unknown writes: the state each writes, the writers of each state (in call order), and the
  // states that have writers and lookers.
  readonly #writes: Int32Array;
  readonly #writersOf = new Map<number, number[]>();
  readonly #blindOrder: number[] = [];
  readonly #lookedAtWrites = new Set<number>();
  // Unknown cas-like ops (they change only the states they tell apart): by state told apart, and by
  // the state they lead to from there (for following chains backwards).
  readonly #firesAt = new Map<number, Array<{ op: number; to: number }>>();
  readonly #firesInto = new Map<number, Array<{ op: number; from: number }>>();
  /** Unknown ops that are neither blind writes nor cas-like (an append): always candidates. */
  readonly #others: number[] = [];

  constructor(ops: readonly Operation[], first: number, model: Model, states: StateTable) {
    const intern = (s: Parameters<StateTable["intern"]>[0]) => states.intern(s);
    const n = ops.length;
    this.#first = first;
    this.#calls = new Float64Array(n);
    this.#blind = new Uint8Array(n);
    this.#done = new Uint8Array(n);
    this.#toldStart = new Int32Array(n + 1);
    const told: number[] = [];
    const symmetric = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const o = ops[i];
      this.#calls[i] = o.call;
      this.#blind[i] = i >= first && model.isBlindWrite(o) ? 1 : 0;
      this.#toldStart[i] = told.length;
      const states = model.distinguishes(o);
      symmetric[i] = states === undefined ? 0 : 1;
      for (const s of states ?? []) told.push(intern(s));
    }
    this.#toldStart[n] = told.length;
    this.#told = Int32Array.from(told);
    this.#asymmetric = symmetric.includes(0);
    this.#lookers = new Int32Array(states.size);
    for (const s of told) this.#lookers[s]++;

    this.#writes = new Int32Array(n).fill(NONE);
    for (let i = first; i < n; i++) {
      if (this.#blind[i]) {
        const w = this.#writes[i] = intern(model.step(model.init(), ops[i])!);
        const writers = this.#writersOf.get(w);
        if (writers) writers.push(i);
        else this.#writersOf.set(w, [i]);
        this.#blindOrder.push(i);
        if (this.#looked(w)) this.#lookedAtWrites.add(w);
        continue;
      }
      const distinct = this.#told.subarray(this.#toldStart[i], this.#toldStart[i + 1]);
      // Model.distinguishes promises alike behaviour outside `distinct`: one state there shows it.
      let probe = 0;
      while (probe < states.size && distinct.includes(probe)) probe++;
      const leavesOthers = symmetric[i] === 1 && probe < states.size &&
        model.step(states.value(probe), ops[i]) === states.value(probe);
      if (!leavesOthers) {
        this.#others.push(i);
        continue;
      }
      for (const from of distinct) {
        const to = intern(model.step(states.value(from), ops[i])!);
        push(this.#firesAt, from, { op: i, to });
        push(this.#firesInto, to, { op: i, from });
      }
    }
  }

  /** Bookkeeping as the search linearizes op `op` (delta -1) or takes it back (+1). */
  update(op: number, delta: 1 | -1): void {
    if (op >= this.#first) this.#done[op] = delta < 0 ? 1 : 0;
    for (let r = this.#toldStart[op]; r < this.#toldStart[op + 1]; r++) {
      const s = this.#told[r];
      this.#lookers[s] += delta;
      if (this.#writersOf.has(s)) {
        if (this.#lookers[s] > 0) this.#lookedAtWrites.add(s);
        else this.#lookedAtWrites.delete(s);
      }
    }
  }

  /**
   * Calls `add` for each unknown op worth trying at a dead end in `state`: ops called no later than
   * `until` (the first remaining return), not yet linearized. `required`: the states the known
   * candidates need, or undefined when one of them fits in several. `skipBlind`: right after an
   * unknown op, blind writes are not worth trying (the search tries them without it).
   */
  candidates(
    state: number,
    required: number[] | undefined,
    until: number,
    skipBlind: boolean,
    add: (op: number) => void,
  ) {
    if (this.#asymmetric) return this.#allCandidates(until, skipBlind, add);
    const pending = (op: number) => !this.#done[op] && this.#calls[op] <= until;
    let wanted = required === undefined ? undefined : new Set(required);
    if (wanted && this.#others.some(pending)) wanted = undefined;
    if (wanted) {
      const queue = [...wanted];
      while (queue.length > 0) {
        for (const { op, from } of this.#firesInto.get(queue.pop()!) ?? []) {
          if (pending(op) && !wanted.has(from)) {
            wanted.add(from);
            queue.push(from);
          }
        }
      }
    }
    if (!skipBlind) {
      const firstPending = (w: number) => this.#writersOf.get(w)?.find(pending);
      for (const w of wanted ?? this.#lookedAtWrites) {
        const op = firstPending(w);
        if (op !== undefined) add(op);
      }
      if (!wanted) {
        for (const op of this.#blindOrder) {
          if (this.#calls[op] > until) break;
          if (!this.#done[op] && !this.#looked(this.#writes[op])) {
            add(op);
            break;
          }
        }
      }
    }
    for (const { op, to } of this.#firesAt.get(state) ?? []) {
      if (pending(op) && to !== state && (!wanted || wanted.has(to))) add(op);
    }
    for (const op of this.#others) if (pending(op)) add(op);
  }

  /** Without pruning by looked-at states: every pending op, but one blind write per state written. */
  #allCandidates(until: number, skipBlind: boolean, add: (op: number) => void): void {
    const written = new Set<number>();
    for (let op = this.#first; op < this.#calls.length && this.#calls[op] <= until; op++) {
      if (this.#done[op]) continue;
      if (this.#blind[op]) {
        if (skipBlind || written.has(this.#writes[op])) continue;
        written.add(this.#writes[op]);
      }
      add(op);
    }
  }

  #looked(state: number): boolean {
    return (this.#lookers[state] ?? 0) > 0;
  }
}

function push<T>(map: Map<number, T[]>, key: number, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * Sets of linearized unknown-outcome ops, interned: each distinct set gets a small id, so a stored
 * configuration keeps one number instead of a copy of the set (which grows along a long history, while
 * the search stores a configuration per step). Set 0 is the empty set.
 */
export class UnknownSets {
  readonly #members: Int32Array[] = [new Int32Array(0)];
  readonly #byContent = new Map<string, number>();
  /** (set, op) -> set with op added, so that each step costs one lookup. */
  readonly #adding = new Map<number, number>();
  readonly #ops: number;

  /** `ops`: how many ops the partition has (op indexes are below it). */
  constructor(ops: number) {
    this.#ops = ops;
  }

  /** The set `id` with `op` added. */
  with(id: number, op: number): number {
    const key = id * this.#ops + op;
    let result = this.#adding.get(key);
    if (result === undefined) {
      const members = this.#members[id];
      const at = members.findIndex((m) => m > op);
      const added = new Int32Array(members.length + 1);
      added.set(members.subarray(0, at < 0 ? members.length : at));
      added[at < 0 ? members.length : at] = op;
      if (at >= 0) added.set(members.subarray(at), at + 1);
      const content = added.join(",");
      result = this.#byContent.get(content);
      if (result === undefined) {
        result = this.#members.length;
        this.#members.push(added);
        this.#byContent.set(content, result);
      }
      this.#adding.set(key, result);
    }
    return result;
  }

  /** Is set `a` a subset of set `b`? */
  isSubset(a: number, b: number): boolean {
    if (a === b || a === 0) return true;
    const small = this.#members[a];
    const big = this.#members[b];
    if (small.length > big.length) return false;
    let j = 0;
    for (const m of small) {
      while (j < big.length && big[j] < m) j++;
      if (j === big.length || big[j] !== m) return false;
      j++;
    }
    return true;
  }
}

/** Model states, interned: equal states get the same small integer, so configurations compare fast. */
import type { ModelState } from "./model.ts";

export class StateTable {
  readonly #ids = new Map<ModelState, number>();
  readonly #values: ModelState[] = [];

  intern(state: ModelState): number {
    let id = this.#ids.get(state);
    if (id === undefined) {
      id = this.#values.length;
      this.#values.push(state);
      this.#ids.set(state, id);
    }
    return id;
  }

  value(id: number): ModelState {
    return this.#values[id];
  }

  get size(): number {
    return this.#values.length;
  }
}

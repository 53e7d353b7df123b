/**
 * Builds histories in code, for tests and examples: `kv.put("x", "a", [0, 10])` is a put of "a" to key
 * "x" called at 0 and returned at 10. A return time of Infinity makes the outcome unknown.
 */
import type { History, Operation, OpName, Value } from "./operation.ts";

export type Interval = [call: number, ret: number];

export class HistoryBuilder {
  readonly operations: Operation[] = [];
  #nextClient = 0;

  /** Adds one op; by default each op gets its own client. */
  add(op: OpName, key: string, [call, ret]: Interval, fields: Partial<Operation> = {}): Operation {
    const operation: Operation = {
      id: this.operations.length,
      client: this.#nextClient++,
      op,
      key,
      status: ret === Infinity ? "unknown" : "ok",
      call,
      ret,
      ...fields,
    };
    if (operation.status === "unknown") delete operation.output;
    this.operations.push(operation);
    return operation;
  }

  get(key: string, output: string, t: Interval): Operation {
    return this.add("get", key, t, { output });
  }
  put(key: string, value: string, t: Interval): Operation {
    return this.add("put", key, t, { value });
  }
  delete(key: string, t: Interval): Operation {
    return this.add("delete", key, t);
  }
  append(key: string, value: string, t: Interval): Operation {
    return this.add("append", key, t, { value });
  }
  /** `prev` null expects the key to be absent. */
  cas(key: string, prev: string | null, value: string, swapped: boolean, t: Interval): Operation {
    return this.add("cas", key, t, { prev, value, output: swapped });
  }
  read(output: Value, t: Interval): Operation {
    return this.add("read", "", t, { output });
  }
  write(value: Value, t: Interval): Operation {
    return this.add("write", "", t, { value });
  }

  build(): History {
    return { operations: [...this.operations], annotations: [], failedCount: 0 };
  }
}

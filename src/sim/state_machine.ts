/**
 * The simulator's replicated state machine: a tiny key-value map fed with "key=value" commands.
 * Snapshots are its JSON encoding. Small on purpose: the simulator tests the log, not the KV.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCommand(key: string, value: string): Uint8Array {
  return encoder.encode(`${key}=${value}`);
}

export function decodeCommand(data: Uint8Array): { key: string; value: string } | undefined {
  const text = decoder.decode(data);
  const eq = text.indexOf("=");
  return eq < 0 ? undefined : { key: text.slice(0, eq), value: text.slice(eq + 1) };
}

export class SimStateMachine {
  readonly data = new Map<string, string>();

  apply(command: Uint8Array): void {
    const c = decodeCommand(command);
    if (c) this.data.set(c.key, c.value);
  }

  snapshot(): Uint8Array {
    return encoder.encode(JSON.stringify([...this.data]));
  }

  static restore(bytes: Uint8Array): SimStateMachine {
    const sm = new SimStateMachine();
    if (bytes.length) {
      for (const [k, v] of JSON.parse(decoder.decode(bytes)) as [string, string][]) sm.data.set(k, v);
    }
    return sm;
  }
}

/**
 * Commands the simulator proposes: the real key-value commands (src/kv/commands.ts), applied by
 * the real state machine inside the node driver. A put of `value` to `key`.
 */
import { encodeCommand as encodeKvCommand } from "../kv/commands.ts";

export function encodeCommand(key: string, value: string): Uint8Array {
  return encodeKvCommand({ op: "put", key, value });
}

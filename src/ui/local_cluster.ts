/**
 * The live view's handle on a local cluster (`deno task local up`): reads its state file, asks
 * the supervisor's control API (read: /state; act: kill, pause, resume, restart, scale), injects
 * transport faults through each node's admin API, and reads and writes keys. Every action names
 * what it did or why it could not.
 */
import { AdminClient, type FaultAction, KvClient, NotFoundError } from "../client/mod.ts";
import { type LocalClusterState, readState } from "../local/state.ts";

export type NodeCommand = "kill" | "pause" | "resume" | "restart";
export const NODE_COMMANDS: NodeCommand[] = ["kill", "pause", "resume", "restart"];

export class ActionError extends Error {}

const UI_RETRY = { operationTimeoutMs: 6_000, requestTimeoutMs: 3_000, maxAttempts: 4 };

export class LocalClusterLink {
  constructor(readonly stateDir: string) {}

  async state(): Promise<LocalClusterState> {
    const state = await readState(this.stateDir);
    if (!state) {
      throw new ActionError(
        `no local cluster in ${this.stateDir}: start one with "deno task local up --fault-injection" ` +
          `(or point --state-dir at its state directory)`,
      );
    }
    return state;
  }

  /** The supervisor's own view (GET /state): undefined when it does not answer. */
  async supervisor(): Promise<{ state: LocalClusterState; settled: boolean } | undefined> {
    const url = (await this.state()).supervisor?.controlUrl;
    if (!url) return undefined;
    try {
      const r = await fetch(`${url}/state`, { signal: AbortSignal.timeout(1000) });
      return r.ok ? await r.json() : (await r.body?.cancel(), undefined);
    } catch {
      return undefined;
    }
  }

  async #control(path: string, body?: unknown): Promise<Record<string, unknown>> {
    const url = (await this.state()).supervisor?.controlUrl;
    if (!url) throw new ActionError("the local supervisor is not running: start the cluster again");
    const r = await fetch(`${url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const json = await r.json() as Record<string, unknown>;
    if (!r.ok) throw new ActionError(String(json.error ?? `supervisor answered ${r.status}`));
    return json;
  }

  async command(id: number, command: NodeCommand): Promise<string> {
    if (!NODE_COMMANDS.includes(command)) {
      throw new ActionError(`unknown node command "${command}" (${NODE_COMMANDS.join(", ")})`);
    }
    return String((await this.#control(`/nodes/${id}/${command}`)).message);
  }

  async scale(replicas: number): Promise<string> {
    if (!Number.isSafeInteger(replicas) || replicas < 1 || replicas > 9) {
      throw new ActionError(`scale needs a size from 1 to 9, got ${replicas}`);
    }
    await this.#control("/desired", { replicas });
    return `desired size set to ${replicas}: the planner takes it from here`;
  }

  async #admin(): Promise<{ admin: AdminClient; state: LocalClusterState }> {
    const state = await this.state();
    if (!state.faultInjection) {
      throw new ActionError(
        "this cluster runs without fault injection: start it with deno task local up --fault-injection",
      );
    }
    const admin = new AdminClient({
      endpoints: state.nodes.map((n) => n.clientUrl),
      token: state.adminToken,
      oneAttempt: true,
      retry: UI_RETRY,
    });
    return { admin, state };
  }

  /** Applies one fault per node; a node that does not answer (killed, paused) is named in the result. */
  async #faults(perNode: Array<[number, FaultAction]>, done: string): Promise<string> {
    const { admin, state } = await this.#admin();
    const failed: string[] = [];
    try {
      await Promise.all(perNode.map(async ([id, fault]) => {
        const node = state.nodes.find((n) => n.id === id);
        if (!node) {
          throw new ActionError(`no node ${id}; nodes are ${state.nodes.map((n) => n.id).join(", ")}`);
        }
        try {
          await admin.injectFault(node.clientUrl, fault);
        } catch (e) {
          failed.push(`node ${id}: ${(e as Error).message}`);
        }
      }));
    } finally {
      await admin.close();
    }
    if (failed.length === perNode.length && failed.length) throw new ActionError(failed.join("; "));
    return failed.length ? `${done}, except ${failed.join("; ")}` : done;
  }

  /**
   * Cuts every link between nodes of different groups ("1,2|3,4,5"); links of nodes named in no group
   * are left alone ("1|4,5" cuts only 1-4 and 1-5). One group alone is cut off from everyone else.
   * A group may name the next node ids, not started yet (as bug1 cuts the leader off from members
   * about to join): the running nodes refuse their traffic from the moment they start.
   */
  async partition(groups: number[][]): Promise<string> {
    const state = await this.state();
    const ids = state.nodes.map((n) => n.id);
    const next = state.reconfig.nextNodeId;
    const future = (id: number) => !ids.includes(id) && id >= next && id < next + 9;
    const listed = groups.flat();
    const unknown = listed.filter((id) => !ids.includes(id) && !future(id));
    if (groups.length < 1 || groups.some((g) => g.length === 0)) {
      throw new ActionError('a partition needs non-empty groups of node ids, e.g. "1,2|3"');
    }
    if (unknown.length) {
      throw new ActionError(
        `no node ${unknown.join(", ")}; nodes are ${
          ids.join(", ")
        } (and ${next}.. for nodes not started yet)`,
      );
    }
    if (new Set(listed).size !== listed.length) throw new ActionError("a node may be in one group only");
    const all = groups.length === 1 ? [groups[0], ids.filter((id) => !listed.includes(id))] : groups;
    if (all.some((g) => g.length === 0)) throw new ActionError("there is no other node to cut it off from");
    const named = all.flat();
    const plan: Array<[number, FaultAction]> = all.flatMap((group) =>
      group.filter((id) => ids.includes(id)).map((id): [number, FaultAction] => [id, {
        action: "partition",
        peers: named.filter((other) => !group.includes(other)),
      }])
    );
    const later = listed.filter(future);
    return await this.#faults(
      plan,
      `partitioned ${all.map((g) => `{${g.join(",")}}`).join(" | ")}` +
        (later.length ? ` (${later.join(", ")} not started yet: cut off from the moment they start)` : ""),
    );
  }

  /** Delays every message to and from node `id` by `ms` (0 removes the delay). */
  async delay(id: number, ms: number): Promise<string> {
    if (!Number.isFinite(ms) || ms < 0 || ms > 10_000) {
      throw new ActionError(`delay must be 0 to 10000 ms, got ${ms}`);
    }
    const state = await this.state();
    const peers = state.nodes.map((n) => n.id).filter((p) => p !== id);
    if (!state.nodes.some((n) => n.id === id)) throw new ActionError(`no node ${id}`);
    return await this.#faults(
      peers.map((peer): [number, FaultAction] => [id, { action: "delay", peer, ms }]),
      ms ? `node ${id}: every message to and from it waits ${ms} ms` : `node ${id}: no delay`,
    );
  }

  async heal(): Promise<string> {
    const state = await this.state();
    return await this.#faults(
      state.nodes.map((n): [number, FaultAction] => [n.id, { action: "heal" }]),
      "healed: every fault removed",
    );
  }

  async #kv<T>(run: (client: KvClient, state: LocalClusterState) => Promise<T>): Promise<T> {
    const state = await this.state();
    const client = new KvClient({ endpoints: state.nodes.map((n) => n.clientUrl), retry: UI_RETRY });
    try {
      return await run(client, state);
    } finally {
      await client.close();
    }
  }

  #nodeUrl(state: LocalClusterState, id: number | undefined): string | undefined {
    if (id === undefined) return undefined;
    const node = state.nodes.find((n) => n.id === id);
    if (!node) throw new ActionError(`no node ${id}; nodes are ${state.nodes.map((n) => n.id).join(", ")}`);
    return node.clientUrl;
  }

  async write(key: string, value: string, on?: number): Promise<string> {
    return await this.#kv(async (client, state) => {
      const r = await client.put(key, value, { node: this.#nodeUrl(state, on) });
      return `put ${key}=${value}: committed at index ${r.index} (served by node ${r.node})`;
    });
  }

  async read(key: string, stale: boolean, on?: number): Promise<string> {
    return await this.#kv(async (client, state) => {
      const how = stale ? "stale" : "linearizable";
      try {
        const r = await client.get(key, { node: this.#nodeUrl(state, on), stale });
        return `get ${key} (${how}) = "${r.value}" at index ${r.index} (served by node ${r.node})`;
      } catch (e) {
        if (e instanceof NotFoundError) return `get ${key} (${how}): not found`;
        throw e;
      }
    });
  }
}

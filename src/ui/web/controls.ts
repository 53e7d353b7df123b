/**
 * The local cluster's controls: kill or isolate the leader, partition and heal, delay, scale,
 * write and read a key; per node: kill, pause, resume, restart, isolate. Each action posts to
 * the view's server and its answer (or error) goes to the action log.
 */
import { byId, h } from "./dom.ts";
import type { ActionResult } from "../view_types.ts";

export async function act(path: string, body?: unknown): Promise<ActionResult> {
  const log = byId("action-log");
  const started = performance.now();
  let result: ActionResult;
  try {
    const r = await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body ?? {}),
    });
    result = await r.json() as ActionResult;
  } catch (e) {
    result = { ok: false, message: `the view's server did not answer: ${(e as Error).message}` };
  }
  const took = Math.round(performance.now() - started);
  log.prepend(
    h(
      "div",
      { class: result.ok ? "ok" : "error" },
      h("time", {}, new Date().toLocaleTimeString()),
      ` ${result.message} `,
      h("small", {}, `(${took} ms)`),
    ),
  );
  while (log.childElementCount > 30) log.lastElementChild?.remove();
  return result;
}

function input(id: string, attrs: Record<string, string | number>): HTMLInputElement {
  return h("input", { id, ...attrs }) as HTMLInputElement;
}

/** Builds the global controls into #controls (once). */
export function buildControls(): void {
  const partition = input("partition-groups", {
    placeholder: "1,2|3",
    size: 8,
    title:
      "node ids, groups separated by |: links between groups are cut, nodes in no group keep theirs; one group alone is isolated",
  });
  const scale = input("scale-to", { type: "number", min: 1, max: 9, value: 5, style: "width:3.5em" });
  const delayNode = input("delay-node", { type: "number", min: 1, placeholder: "node", style: "width:4em" });
  const delayMs = input("delay-ms", { type: "number", min: 0, max: 10000, value: 200, style: "width:5em" });
  const key = input("kv-key", { placeholder: "key", value: "greeting", size: 8 });
  const value = input("kv-value", { placeholder: "value", value: "hello", size: 8 });
  const on = input("kv-node", {
    type: "number",
    min: 1,
    placeholder: "any",
    style: "width:4em",
    title: "node to send it to (empty: any)",
  });
  const stale = h("input", { id: "kv-stale", type: "checkbox" }) as HTMLInputElement;
  const node = () => on.value ? Number(on.value) : undefined;
  const button = (id: string, label: string, run: () => unknown, title?: string) =>
    h("button", { id, title, onclick: () => void run() }, label);
  byId("controls").replaceChildren(
    h(
      "div",
      {},
      button(
        "kill-leader",
        "kill leader",
        () => act("/api/local/kill-leader"),
        "SIGKILL the leader; the supervisor restarts it",
      ),
      button(
        "isolate-leader",
        "isolate leader",
        () => act("/api/local/isolate-leader"),
        "cut the leader off from every peer",
      ),
      button("heal", "heal", () => act("/api/local/heal"), "remove every partition, drop and delay"),
    ),
    h(
      "div",
      {},
      "partition ",
      partition,
      button("partition", "split", () => act("/api/local/partition", { groups: partition.value })),
      " scale to ",
      scale,
      button("scale", "scale", () => act("/api/local/scale", { replicas: Number(scale.value) })),
    ),
    h(
      "div",
      {},
      "delay node ",
      delayNode,
      " by ",
      delayMs,
      " ms ",
      button(
        "delay",
        "delay",
        () => act("/api/local/delay", { id: Number(delayNode.value), ms: Number(delayMs.value) }),
      ),
    ),
    h(
      "div",
      {},
      key,
      value,
      " on node ",
      on,
      button(
        "kv-write",
        "write",
        () => act("/api/local/write", { key: key.value, value: value.value, node: node() }),
      ),
      button(
        "kv-read",
        "read",
        () => act("/api/local/read", { key: key.value, stale: stale.checked, node: node() }),
      ),
      h("label", { title: "read the node's local state, without a ReadIndex round" }, stale, " stale"),
    ),
  );
}

/** Per-node buttons, under each member card. */
export function nodeActions(id: number, process: string | undefined): HTMLElement {
  const post = (command: string) => () => void act(`/api/local/nodes/${id}/${command}`);
  const paused = process === "paused";
  return h(
    "div",
    { class: "node-actions" },
    h("button", {
      onclick: post("kill"),
      "data-action": "kill",
      title: "SIGKILL (the supervisor restarts it)",
    }, "kill"),
    paused
      ? h("button", { onclick: post("resume"), "data-action": "resume" }, "resume")
      : h("button", { onclick: post("pause"), "data-action": "pause", title: "SIGSTOP" }, "pause"),
    h("button", { onclick: post("restart"), "data-action": "restart" }, "restart"),
    h("button", {
      onclick: () => void act("/api/local/partition", { groups: [[id]] }),
      "data-action": "isolate",
      title: "cut this node off from every peer",
    }, "isolate"),
  );
}

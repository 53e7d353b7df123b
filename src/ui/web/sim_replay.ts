/**
 * The simulator replay tab: a trace from `deno task sim ... --trace-json FILE`, stepped forward
 * and back one event at a time (or from one notable event — a leader elected, a crash, a
 * partition — to the next). The ring and the member cards show every node as it was at that
 * event; stepping onto a message flies it.
 */
import { byId, fill, h } from "./dom.ts";
import { Ring } from "./ring.ts";
import { memberCard } from "./members.ts";
import { checkSimTrace } from "./sim_trace_check.ts";
import type { SimNodeState, SimTraceFile } from "../replay_types.ts";

const WINDOW = 9;

export class SimReplay {
  #ring: Ring;
  #trace: SimTraceFile | undefined;
  /** States after each event, computed on demand: states[i] is the world as event i happens. */
  #states: Array<Record<string, SimNodeState>> = [];
  /** Cut links at each event, folded the same way. */
  #cuts: Array<Array<[number, number]>> = [];
  #step = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor() {
    this.#ring = new Ring(byId("sim-ring"));
    this.#ring.flightMs = 350;
    byId("sim-file").addEventListener("change", (e) => void this.#openFile(e.target as HTMLInputElement));
    byId("sim-first").onclick = () => this.show(0);
    byId("sim-back").onclick = () => this.show(this.#step - 1);
    byId("sim-forward").onclick = () => this.show(this.#step + 1, true);
    byId("sim-last").onclick = () => this.show(Infinity);
    byId("sim-prev-notable").onclick = () => this.show(this.#notable(-1));
    byId("sim-next-notable").onclick = () => this.show(this.#notable(1), true);
    byId("sim-play").onclick = () => this.#togglePlay();
    byId("sim-slider").addEventListener(
      "input",
      (e) => this.show(Number((e.target as HTMLInputElement).value)),
    );
  }

  async loadList(traces: Array<{ index: number; name: string; events: number }>): Promise<void> {
    const list = byId("sim-list");
    fill(
      list,
      traces.length ? "or one given on the command line: " : "",
      traces.map((t) =>
        h(
          "button",
          { onclick: () => void this.#openServer(t.index), "data-trace": t.name },
          `${t.name} (${t.events} events)`,
        )
      ),
    );
    if (traces.length === 1 && !this.#trace) await this.#openServer(traces[0].index);
  }

  async #openServer(index: number): Promise<void> {
    const r = await fetch(`/api/sim-traces/${index}`);
    this.#load(await r.json(), `trace #${index}`);
  }

  async #openFile(input: HTMLInputElement): Promise<void> {
    const file = input.files?.[0];
    if (!file) return;
    try {
      this.#load(JSON.parse(await file.text()), file.name);
    } catch (e) {
      byId("sim-error").textContent = (e as Error).message;
    }
  }

  #load(value: unknown, source: string): void {
    byId("sim-error").textContent = "";
    try {
      this.#trace = checkSimTrace(value, source);
    } catch (e) {
      byId("sim-error").textContent = (e as Error).message;
      return;
    }
    this.#states = [];
    this.#cuts = [];
    const t = this.#trace;
    (byId("sim-slider") as HTMLInputElement).max = String(t.events.length - 1);
    fill(
      byId("sim-header"),
      h("b", {}, `${t.scenario} · ${t.mode} · seed ${t.seed}`),
      ` · ${t.events.length} events`,
      t.truncated ? ` (${t.truncated} more left out of the middle: look for the "left out" event)` : "",
      t.violations.length
        ? h(
          "div",
          { class: "error", id: "sim-violations" },
          `${t.violations.length} invariant violations: `,
          t.violations.slice(0, 3).map((v) => `${v.invariant} at ${v.time} ms: ${v.detail}`).join(" | "),
        )
        : h("div", { class: "ok", id: "sim-violations" }, "no invariant violated"),
    );
    byId("sim-player").hidden = false;
    this.show(0);
  }

  #stateAt(i: number): Record<string, SimNodeState> {
    const t = this.#trace!;
    for (let k = this.#states.length; k <= i; k++) {
      const before = k === 0 ? t.initial : this.#states[k - 1];
      this.#states.push({ ...before, ...(t.events[k].nodes ?? {}) });
      this.#cuts.push(t.events[k].cut ?? (k === 0 ? [] : this.#cuts[k - 1]));
    }
    return this.#states[i];
  }

  /** The next (+1) or previous (-1) event that is not a message. */
  #notable(direction: 1 | -1): number {
    const events = this.#trace?.events ?? [];
    for (let i = this.#step + direction; i >= 0 && i < events.length; i += direction) {
      if (!events[i].message && !events[i].text.startsWith("node ")) return i;
    }
    return direction > 0 ? events.length - 1 : 0;
  }

  /** Shows event `i` (clamped); `animate` flies its message. */
  show(i: number, animate = false): void {
    const t = this.#trace;
    if (!t || !t.events.length) return;
    this.#step = Math.max(0, Math.min(t.events.length - 1, i));
    const event = t.events[this.#step];
    const states = this.#stateAt(this.#step);
    const nodes = Object.entries(states).map(([id, n]) => ({ id: Number(id), ...n }));
    const cut = this.#cuts[this.#step];
    this.#ring.setNodes(nodes.map((n) => ({
      id: n.id,
      role: n.role,
      term: n.term,
      vote: n.vote,
      down: !n.alive,
      learner: n.conf.learners.includes(n.id),
      note: n.alive ? n.role : "crashed",
      cutFrom: cut.filter(([a, b]) => a === n.id || b === n.id).map(([a, b]) => a === n.id ? b : a),
    })));
    if (animate && event.message) this.#ring.fly(event.message);
    (byId("sim-slider") as HTMLInputElement).value = String(this.#step);
    byId("sim-position").textContent = `event ${this.#step + 1} of ${t.events.length} · ${event.time} ms`;
    byId("sim-position").dataset.step = String(this.#step);
    byId("sim-event").textContent = event.text;
    const from = Math.max(0, this.#step - Math.floor(WINDOW / 2));
    fill(
      byId("sim-events"),
      t.events.slice(from, from + WINDOW).map((e, k) =>
        h(
          "li",
          {
            class: `${from + k === this.#step ? "current" : ""}${e.message ? "" : " notable"}`,
            onclick: () => this.show(from + k),
          },
          `${String(e.time).padStart(5)} ms  ${e.text}`,
        )
      ),
    );
    fill(
      byId("sim-members"),
      nodes.map((n) =>
        memberCard({
          id: n.id,
          role: n.role,
          down: !n.alive,
          term: n.term,
          vote: n.vote,
          lead: n.lead,
          commit: n.commit,
          applied: n.applied,
          lastIndex: n.lastIndex,
          conf: { ...n.conf, joint: n.joint },
          logTail: n.logTail,
        })
      ),
    );
  }

  #togglePlay(): void {
    const button = byId("sim-play");
    if (this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      button.textContent = "play";
      return;
    }
    button.textContent = "pause";
    this.#timer = setInterval(() => {
      if (!this.#trace || this.#step >= this.#trace.events.length - 1) return this.#togglePlay();
      this.show(this.#step + 1, true);
    }, 120);
  }
}

/**
 * The experiment replay tab: a bug1/bug2 run from `deno task experiment` as a timeline — one
 * lane per client, a bar per operation (ok, failed, unknown), the fault schedule as marks — with
 * the checker's verdict, the operation it stopped at, and a link to its HTML report. Stepping
 * moves a cursor from one fault to the next: operations after it fade.
 */
import { byId, fill, h, s } from "./dom.ts";
import type { ExperimentRun, ExperimentSummary } from "../replay_types.ts";

const WIDTH = 1000, LANE = 16, TOP = 24;

export class ExperimentReplay {
  #run: ExperimentRun | undefined;
  /** -1: before the first note; notes.length: after the last. */
  #cursor = -1;

  constructor() {
    byId("exp-prev").onclick = () => this.step(this.#cursor - 1);
    byId("exp-next").onclick = () => this.step(this.#cursor + 1);
  }

  async loadList(): Promise<void> {
    const list = await (await fetch("/api/experiments")).json() as ExperimentSummary[];
    fill(
      byId("exp-list"),
      list.length
        ? list.map((e) =>
          h(
            "button",
            {
              onclick: () => void this.open(e.name),
              "data-run": e.name,
              class: e.verdict === "linearizable" ? "ok" : "bad",
            },
            `${e.bug} · ${e.mode} · ${e.verdict}`,
          )
        )
        : h("span", { class: "hint" }, "no experiment runs here yet: deno task experiment bug1 (or bug2)"),
    );
  }

  async open(name: string): Promise<void> {
    const r = await fetch(`/api/experiments/${encodeURIComponent(name)}`);
    const body = await r.json();
    if (!r.ok) {
      byId("exp-header").textContent = body.message;
      return;
    }
    this.#run = body as ExperimentRun;
    const run = this.#run;
    const sum = run.summary;
    fill(
      byId("exp-header"),
      h("h3", {}, `${sum.bug} in ${sum.mode}`),
      h(
        "div",
        { id: "exp-verdict", class: sum.verdict === "linearizable" ? "ok" : "error" },
        sum.verdictLine,
      ),
      h(
        "div",
        {},
        sum.date ? `run ${new Date(sum.date).toLocaleString()} · ` : "",
        `${sum.operations ?? run.operations.length} operations · minority-side leader: ${
          sum.sideLeaderElected ? "yes" : "no"
        } · `,
        run.reportAvailable
          ? h("a", {
            href: `/api/experiments/${encodeURIComponent(name)}/report`,
            target: "_blank",
            id: "exp-report",
          }, "the checker's HTML report")
          : "no HTML report next to it",
      ),
      run.missing ? h("div", { class: "warn" }, run.missing) : null,
      run.omitted ? h("div", { class: "hint" }, `${run.omitted} later operations not drawn`) : null,
    );
    byId("exp-player").hidden = run.notes.length === 0;
    this.step(run.notes.length ? 0 : -1);
  }

  step(i: number): void {
    const run = this.#run;
    if (!run) return;
    this.#cursor = Math.max(-1, Math.min(run.notes.length, i));
    const cursorTime = this.#cursor < 0
      ? 0
      : this.#cursor >= run.notes.length
      ? Infinity
      : run.notes[this.#cursor].time;
    const before = run.operations.filter((o) => o.call <= cursorTime);
    const count = (status: string) => before.filter((o) => o.status === status).length;
    byId("exp-position").textContent = this.#cursor < 0
      ? "before the first fault"
      : this.#cursor >= run.notes.length
      ? "after the last fault"
      : `${(cursorTime / 1000).toFixed(2)} s: ${run.notes[this.#cursor].text}`;
    byId("exp-position").dataset.step = String(this.#cursor);
    byId("exp-counts").textContent = `so far: ${count("ok")} ok, ${count("fail")} failed, ${
      count("unknown")
    } unknown`;
    fill(
      byId("exp-notes"),
      run.notes.map((n, k) =>
        h(
          "li",
          { class: k === this.#cursor ? "current" : "", onclick: () => this.step(k) },
          `${(n.time / 1000).toFixed(2)} s  ${n.text}`,
        )
      ),
    );
    this.#draw(cursorTime);
  }

  #draw(cursorTime: number): void {
    const run = this.#run!;
    const clients = [...new Set(run.operations.map((o) => o.client))].sort((a, b) =>
      a.localeCompare(b, undefined, { numeric: true })
    );
    const end = Math.max(1, ...run.operations.map((o) => o.ret ?? o.call), ...run.notes.map((n) => n.time));
    const x = (t: number) => 60 + (t / end) * (WIDTH - 70);
    const height = TOP + clients.length * LANE + 20;
    const lane = new Map(clients.map((c, i) => [c, TOP + i * LANE]));
    const svg = s(
      "svg",
      { viewBox: `0 0 ${WIDTH} ${height}`, class: "timeline" },
      clients.map((c) => s("text", { x: 4, y: lane.get(c)! + 11, class: "lane" }, c)),
      run.operations.map((o) => {
        const bad = o.id === run.badOperation;
        const x1 = x(o.call), x2 = x(o.ret ?? end);
        return s(
          "rect",
          {
            x: x1,
            y: lane.get(o.client)! + 2,
            width: Math.max(1.5, x2 - x1),
            height: LANE - 5,
            class: `op ${o.status} ${o.op}${bad ? " bad" : ""}${o.call > cursorTime ? " later" : ""}`,
          },
          s(
            "title",
            {},
            `${o.op} ${o.key}${
              o.output !== undefined ? ` -> "${o.output}"` : ""
            } (${o.status}, client ${o.client}, op ${o.id})`,
          ),
        );
      }),
      run.notes.map((n, k) =>
        s("line", {
          x1: x(n.time),
          x2: x(n.time),
          y1: 12,
          y2: height - 14,
          class: k === this.#cursor ? "note current" : "note",
        })
      ),
      Number.isFinite(cursorTime)
        ? s("line", { x1: x(cursorTime), x2: x(cursorTime), y1: 0, y2: height, class: "cursor" })
        : null,
      run.badOperation !== undefined
        ? (() => {
          const o = run.operations.find((op) => op.id === run.badOperation);
          return o
            ? s(
              "text",
              { x: x(o.call), y: lane.get(o.client)! - 1, class: "bad-label" },
              `checker stops here: op ${o.id}`,
            )
            : null;
        })()
        : null,
      s("text", { x: 60, y: height - 2, class: "axis" }, "0 s"),
      s("text", { x: WIDTH - 60, y: height - 2, class: "axis" }, `${(end / 1000).toFixed(1)} s`),
    );
    fill(byId("exp-timeline"), svg);
  }
}

/** The Kubernetes tab (`deno task ui --kube NAME`): the RaftCluster's pods, the operator's status, its Events. */
import { byId, fill, h } from "./dom.ts";
import type { KubeSnapshot } from "../view_types.ts";

export async function refreshKube(): Promise<void> {
  const r = await fetch("/api/kube");
  const k = await r.json() as KubeSnapshot & { message?: string };
  if (!r.ok) {
    fill(byId("kube"), h("div", { class: "error" }, k.message ?? "no answer"));
    return;
  }
  const status = (k.status ?? {}) as Record<string, unknown>;
  // The operator's planner state (status.planner; older operators kept it in status.reconfig) and its
  // finished membership changes (status.history), as src/operator/raftcluster/types.ts writes them.
  const planner = (status.planner ?? status.reconfig) as { phase?: string; message?: string } | undefined;
  const history = (status.history ?? []) as Array<{
    from: number;
    to: number;
    startedAt: string;
    durationSeconds: number;
    result: string;
    steps: Array<{ step: string; durationSeconds?: number }>;
  }>;
  const conditions = (status.conditions ?? []) as Array<
    { type: string; status: string; reason?: string; message?: string }
  >;
  fill(
    byId("kube"),
    h("h3", {}, `RaftCluster ${k.namespace}/${k.name}`),
    k.error ? h("div", { class: "error" }, k.error) : null,
    k.spec ? h("div", {}, `spec: ${JSON.stringify(k.spec)}`) : null,
    status.leader !== undefined
      ? h("div", {}, `leader pod ${status.leader} · voters ${JSON.stringify(status.voters ?? "?")}`)
      : null,
    conditions.length
      ? h(
        "ul",
        {},
        conditions.map((c) => h("li", {}, `${c.type}=${c.status} ${c.reason ?? ""} ${c.message ?? ""}`)),
      )
      : null,
    h(
      "div",
      { id: "kube-planner" },
      "operator step ",
      h("b", {}, String(status.step ?? planner?.phase ?? "?")),
      `: ${planner?.message ?? "no status yet"}`,
    ),
    history.length
      ? h(
        "table",
        { class: "history" },
        h("tr", {}, ["started", "voters", "result", "steps"].map((c) => h("th", {}, c))),
        history.slice().reverse().map((e) =>
          h(
            "tr",
            {},
            h("td", {}, new Date(e.startedAt).toLocaleTimeString()),
            h("td", {}, `${e.from} → ${e.to}`),
            h("td", {}, `${e.result} in ${e.durationSeconds.toFixed(1)} s`),
            h(
              "td",
              {},
              e.steps.map((st) =>
                `${st.step}${st.durationSeconds === undefined ? "" : ` ${st.durationSeconds.toFixed(1)} s`}`
              ).join(" → "),
            ),
          )
        ),
      )
      : null,
    h("h3", {}, "Pods"),
    h(
      "table",
      { id: "kube-pods" },
      h("tr", {}, ["pod", "phase", "ready", "IP", "restarts", "started"].map((c) => h("th", {}, c))),
      k.pods.map((p) =>
        h(
          "tr",
          {},
          h("td", {}, p.name),
          h("td", {}, p.deleting ? "Terminating" : p.phase ?? ""),
          h("td", {}, p.ready ? "yes" : "no"),
          h("td", {}, p.podIP ?? ""),
          h("td", {}, p.restarts),
          h("td", {}, p.startedAt ? new Date(p.startedAt).toLocaleTimeString() : ""),
        )
      ),
    ),
    h("h3", {}, "Events"),
    h(
      "table",
      { id: "kube-events" },
      h("tr", {}, ["when", "type", "reason", "object", "message"].map((c) => h("th", {}, c))),
      k.events.slice().reverse().map((e) =>
        h(
          "tr",
          { class: e.type === "Warning" ? "warn" : "" },
          h("td", {}, e.last ? new Date(e.last).toLocaleTimeString() : ""),
          h("td", {}, e.type ?? ""),
          h("td", {}, e.reason ?? ""),
          h("td", {}, e.object),
          h("td", {}, `${e.message ?? ""}${e.count && e.count > 1 ? ` (×${e.count})` : ""}`),
        )
      ),
    ),
  );
}

/**
 * The page's entry point (bundled by src/ui/bundle.ts): tabs for the live cluster, simulator
 * replay, experiment replay and Kubernetes, each started when first shown.
 */
import { byId } from "./dom.ts";
import { LiveView } from "./live.ts";
import { SimReplay } from "./sim_replay.ts";
import { ExperimentReplay } from "./experiment_replay.ts";
import { refreshKube } from "./kube.ts";

interface UiConfig {
  mode: "local" | "kube";
  stateDir?: string;
  kube?: { name: string; namespace: string };
  resultsDir: string;
  simTraces: Array<{ index: number; name: string; events: number }>;
}

const config = await (await fetch("/api/config")).json() as UiConfig;
const live = new LiveView(config.mode === "local");
const sim = new SimReplay();
const experiments = new ExperimentReplay();
let kubeTimer: ReturnType<typeof setInterval> | undefined;

byId("source").textContent = config.mode === "kube"
  ? `RaftCluster ${config.kube!.namespace}/${config.kube!.name}`
  : `local cluster in ${config.stateDir}`;
byId("tab-button-kube").hidden = config.mode !== "kube";

const tabs = ["live", "sim", "exp", "kube"] as const;
function show(tab: typeof tabs[number]): void {
  for (const t of tabs) {
    byId(`tab-${t}`).hidden = t !== tab;
    byId(`tab-button-${t}`).classList.toggle("active", t === tab);
  }
  if (tab === "live") live.start();
  else live.stop(); // the nodes trace only while someone watches
  if (tab === "exp") void experiments.loadList();
  clearInterval(kubeTimer);
  if (tab === "kube") {
    void refreshKube();
    kubeTimer = setInterval(() => void refreshKube(), 2000);
  }
  location.hash = tab;
}
for (const t of tabs) byId(`tab-button-${t}`).onclick = () => show(t);
await sim.loadList(config.simTraces);
const initial = location.hash.slice(1) as typeof tabs[number];
show(tabs.includes(initial) ? initial : "live");

// Handles for the browser test and for poking around in the console.
Object.assign(globalThis, { raftKvView: { live, sim, experiments } });

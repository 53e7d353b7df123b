/**
 * The two membership bugs on a RaftCluster, through the operator (`deno task experiment bug1|bug2
 * --kube NAME`): the same schedules as bugs.ts, but the membership change is the operator's own,
 * started by a scale of the RaftCluster (spec.replicas 3 -> 5, two members at once), and the
 * experiment only injects faults through the pods' fault endpoints (spec.faultInjection: true).
 * Old voters by slot: s0 (made leader first), s1, s2; new members n1, n2.
 *
 * bug1: s0 is cut off from n1 and n2 before they exist (s0 drops their traffic both ways). The
 * operator starts them empty and, in unsafe-early-vote, makes them voters at once (AddVotersDirectly);
 * in safe it adds them as learners, which cannot catch up from s0. Once s2 applied the change it is cut
 * off from s0 too, then {s0,s1} | {s2,n1,n2}.
 *
 * bug2: the operator adopts the new voter set node by node (AdoptConfigOneByOne: n1, n2, then the old
 * ones from the highest slot down: s2, s1, s0) in a burst an outside process cannot interleave with. So
 * s1's admin API refuses calls for the whole scale (fault refuse-admin: the operator cannot reach it),
 * and the burst stops after n1, n2 and s2, exactly where the local schedule stops; then {s0,s1} |
 * {s2,n1,n2}. In safe mode the operator's calls go to the leader s0 only, so the same fault changes
 * nothing: the change goes through C_old,new and the split comes once s2 has entered it.
 *
 * Every fault is healed at the end (also on failure), which lets the operator finish the change.
 */
import * as k8s from "@kubernetes/client-node";
import type { SafetyMode } from "../src/raft/mod.ts";
import { HistoryRecorder } from "../src/check/history.ts";
import { fetchNodeStatus } from "../src/client/mod.ts";
import { KubeConfigH1 } from "../src/operator/framework/mod.ts";
import { ClusterApi } from "../src/operator/raftcluster/cluster_api.ts";
import { ADMIN_TOKEN_KEY, adminUrlOf, secretName } from "../src/operator/raftcluster/names.ts";
import { resolveSpec, SpecError } from "../src/operator/raftcluster/spec.ts";
import type { RaftClusterStatus } from "../src/operator/raftcluster/types.ts";
import { KubeTarget } from "./fault/kube_target.ts";
import { type BugName, type BugOutcome, judgeSplit, runSplit, type SplitRun } from "./lib/split_schedule.ts";

/** The experiment cannot run on this cluster; the message says why and what to do. */
export class KubeExperimentError extends Error {
  override name = "KubeExperimentError";
}

export const UNSAFE_MODE_OF_BUG: Record<BugName, SafetyMode> = {
  bug1: "unsafe-early-vote",
  bug2: "unsafe-no-joint",
};

export interface KubeBugOptions {
  name: string;
  namespace?: string;
  seconds: number;
  /** The modes the user asked for (undefined: whatever the RaftCluster runs). */
  modes?: SafetyMode[];
  /** How long the operator gets for each step of the scale (default 180 s). */
  stepTimeoutMs?: number;
}

interface ClusterFacts {
  api: ClusterApi;
  config: KubeConfigH1;
  namespace: string;
  mode: SafetyMode;
  status: RaftClusterStatus;
  adminToken: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const first = (e: unknown) => ((e as Error).message ?? String(e)).split("\n")[0];

/** Reads and checks the RaftCluster: it must exist, run bug's unsafe mode or safe, fault injection on, 3 voters. */
export async function openCluster(bug: BugName, options: KubeBugOptions): Promise<ClusterFacts> {
  const home = Deno.env.get("HOME");
  const found = (path: string) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  };
  if (!Deno.env.get("KUBECONFIG") && !(home && found(`${home}/.kube/config`))) {
    throw new KubeExperimentError(
      "no Kubernetes cluster to talk to: no kubeconfig (set KUBECONFIG; --kube needs a cluster, " +
        "e.g. deno task localkube up)",
    );
  }
  const config = new KubeConfigH1();
  try {
    config.loadFromDefault();
  } catch (e) {
    throw new KubeExperimentError(`cannot load the kubeconfig: ${first(e)}`);
  }
  const server = config.getCurrentCluster()?.server;
  if (!server) {
    throw new KubeExperimentError(
      "no Kubernetes cluster to talk to: set KUBECONFIG (--kube needs a cluster)",
    );
  }
  const namespace = options.namespace ?? config.getContextObject(config.getCurrentContext())?.namespace ??
    "default";
  const api = new ClusterApi(config);
  const where = `RaftCluster ${namespace}/${options.name}`;
  let body;
  try {
    body = await api.getCluster(namespace, options.name);
  } catch (e) {
    config.closeConnections();
    throw new KubeExperimentError(`cannot reach the Kubernetes API server at ${server}: ${first(e)}`);
  }
  const fail = (message: string): never => {
    config.closeConnections();
    throw new KubeExperimentError(message);
  };
  if (!body) {
    return fail(
      `no ${where}: create one with spec.faultInjection: true, e.g. from deploy/examples/raftcluster-${
        UNSAFE_MODE_OF_BUG[bug]
      }.yaml`,
    );
  }
  let mode: SafetyMode;
  let faultInjection: boolean;
  try {
    ({ safetyMode: mode, faultInjection } = resolveSpec(body.spec as Record<string, unknown>));
  } catch (e) {
    return fail(`${where} has an invalid spec: ${(e as SpecError).message}`);
  }
  const unsafe = UNSAFE_MODE_OF_BUG[bug];
  if (mode !== unsafe && mode !== "safe") {
    return fail(
      `${where} runs safetyMode ${mode}: ${bug} runs on a RaftCluster in ${unsafe} (to show the violation) ` +
        `or safe (to show there is none)`,
    );
  }
  if (options.modes && !options.modes.includes(mode)) {
    return fail(
      `${where} runs safetyMode ${mode}, not ${options.modes.join(" or ")}: one RaftCluster runs one mode; ` +
        `drop --safety-mode or point --kube at a RaftCluster in that mode`,
    );
  }
  if (!faultInjection) {
    return fail(
      `${where} runs without fault injection (spec.faultInjection is false): the experiment partitions its ` +
        `pods through their fault endpoints; create it with spec.faultInjection: true (experiments only)`,
    );
  }
  const status = (body.status ?? {}) as RaftClusterStatus;
  const replicas = (body.spec as { replicas?: number }).replicas;
  if (replicas !== 3 || status.phase !== "Running" || status.step !== "Idle" || status.voters?.length !== 3) {
    return fail(
      `${where} must be a settled cluster of 3 voters (spec.replicas 3, phase Running): it has spec.replicas ` +
        `${replicas}, phase ${status.phase ?? "none"}, step ${status.step ?? "none"}, voters [${
          status.voters ?? []
        }]; the experiment scales it to 5 (re-create it to run again)`,
    );
  }
  const secret = await api.readSecret(namespace, secretName({ name: options.name, namespace, uid: "" }));
  const token = secret?.data?.[ADMIN_TOKEN_KEY];
  if (!token) return fail(`${where}: its Secret has no ${ADMIN_TOKEN_KEY}`);
  return { api, config, namespace, mode, status, adminToken: atob(token) };
}

/** A node's configuration from its /status. */
function confOf(s: Record<string, unknown> | undefined) {
  const c = (s?.conf ?? {}) as { voters?: number[]; votersOutgoing?: number[]; learners?: number[] };
  return { voters: c.voters ?? [], outgoing: c.votersOutgoing ?? [], learners: c.learners ?? [] };
}

const sameSet = (a: number[], b: number[]) => a.length === b.length && a.every((x) => b.includes(x));

export async function runKubeBugExperiment(bug: BugName, options: KubeBugOptions): Promise<BugOutcome> {
  const facts = await openCluster(bug, options);
  const { api, config, namespace, mode } = facts;
  const log = (line: string) => console.log(`  [${bug} ${mode} on ${namespace}/${options.name}] ${line}`);
  const stepTimeoutMs = options.stepTimeoutMs ?? 180_000;
  const target = await KubeTarget.open(options.name, namespace).catch((e) => {
    config.closeConnections();
    throw new KubeExperimentError(first(e));
  });
  const recorder = new HistoryRecorder({ model: "kv" });
  const note = (text: string) => {
    recorder.note(text);
    log(text);
  };

  // Node id -> pod URL, refreshed when a node not seen yet is asked for (the new members' pods).
  let known = await target.nodes();
  const urlOf = async (id: number) => {
    if (!known.some((n) => n.id === id)) known = await target.nodes();
    return known.find((n) => n.id === id)?.url;
  };
  const status = async (id: number) => {
    const url = await urlOf(id);
    return url ? await fetchNodeStatus<Record<string, unknown>>(url, 500) : undefined;
  };
  const nodeOf = (id: number) => known.find((n) => n.id === id);
  const partition = async (groups: number[][]) => {
    known = await target.nodes();
    for (const group of groups) {
      const others = groups.filter((g) => g !== group).flat();
      for (const id of group) {
        const node = nodeOf(id);
        if (node) await target.inject(node, { action: "partition", peers: others });
      }
    }
  };
  const heal = async () => {
    known = await target.nodes();
    await Promise.all(known.map((n) => target.inject(n, { action: "heal" }).catch(() => {})));
  };
  const waitFor = async (what: string, probe: () => Promise<boolean>) => {
    const deadline = performance.now() + stepTimeoutMs;
    let lastSaid = performance.now();
    while (performance.now() < deadline) {
      if (await probe()) return;
      if (performance.now() - lastSaid > 10_000) {
        lastSaid = performance.now();
        const s = ((await api.getCluster(namespace, options.name))?.status ?? {}) as RaftClusterStatus;
        log(`still waiting for ${what}; the operator says: ${s.step ?? "?"}: ${s.planner?.message ?? ""}`);
      }
      await sleep(50);
    }
    throw new KubeExperimentError(
      `timed out after ${
        stepTimeoutMs / 1000
      } s waiting for ${what}; kubectl describe raftcluster ${options.name} ` +
        `-n ${namespace} shows where the operator is`,
    );
  };

  let run: SplitRun;
  try {
    if (!await target.faultInjection()) {
      throw new KubeExperimentError(
        `${target.description}: spec.faultInjection is true but its pods run without --fault-injection ` +
          `(a rolling restart still under way?)`,
      );
    }
    // The old voters by slot; the operator hands out the next two ids to the new members.
    const old = known.filter((n) => facts.status.voters!.includes(n.id)).sort((a, b) => a.slot - b.slot);
    if (old.length !== 3) throw new KubeExperimentError(`only ${old.length} of the 3 voters' pods answer`);
    const [s0, s1, s2] = old.map((n) => n.id);
    const next = facts.status.planner?.nextNodeId ?? Math.max(...old.map((n) => n.id)) + 1;
    const [n1, n2] = [next, next + 1];
    const leader = await Promise.all(old.map(async (n) => ({ n, s: await status(n.id) })))
      .then((all) => all.find((x) => x.s?.role === "leader")?.n);
    if (!leader) throw new KubeExperimentError(`no leader among nodes ${s0}, ${s1}, ${s2}`);
    if (leader.id !== s0) {
      const r = await fetch(`${adminUrlOf(leader.url)}/admin/transfer-leader`, {
        method: "POST",
        headers: { authorization: `Bearer ${facts.adminToken}`, "content-type": "application/json" },
        body: JSON.stringify({ to: s0 }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!r.ok) throw new KubeExperimentError(`transfer of leadership to ${s0} failed: ${await r.text()}`);
      await r.body?.cancel();
      await waitFor(`node ${s0} to lead`, async () => (await status(s0))?.role === "leader");
    }
    log(
      `3 voters up (nodes ${s0}, ${s1}, ${s2} in slots 0-2), node ${s0} leads; new members will be ${n1}, ${n2}`,
    );

    if (bug === "bug1") {
      await partition([[s0], [n1, n2]]);
      note(`node ${s0} drops all traffic of ${n1} and ${n2} (they do not exist yet)`);
    } else {
      await target.inject(nodeOf(s1)!, { action: "refuse-admin" });
      note(`node ${s1}'s admin API refuses calls: the operator cannot change it`);
    }
    const began = performance.now();
    const took = () => `${((performance.now() - began) / 1000).toFixed(1)} s after the scale`;
    await scale(config, namespace, options.name);
    note(`RaftCluster scaled 3 -> 5 (spec.replicas 5, reconfig.maxParallel 2): the operator takes over`);

    if (bug === "bug1") {
      await waitFor(
        `node ${s2} to apply the operator's change`,
        async () => {
          const c = confOf(await status(s2));
          return [n1, n2].every((id) => c.voters.includes(id) || c.learners.includes(id));
        },
      );
      const c = confOf(await status(s2));
      note(
        [n1, n2].every((id) => c.voters.includes(id))
          ? `UNSAFE: the operator made ${n1} and ${n2} voters at once (node ${s2} has voters [${c.voters}]), ${took()}`
          : `the operator added ${n1} and ${n2} as learners (safe), ${took()}`,
      );
      await partition([[s0], [s2, n1, n2]]);
      note(`node ${s2} cut off from leader ${s0}: it misses what ${s0} and ${s1} commit next`);
    } else if (mode === "unsafe-no-joint") {
      const target5 = [s0, s1, s2, n1, n2];
      await waitFor(
        `nodes ${n1}, ${n2} and ${s2} to adopt the new voter set`,
        async () => {
          for (const id of [n1, n2, s2]) if (!sameSet(confOf(await status(id)).voters, target5)) return false;
          return true;
        },
      );
      note(
        `UNSAFE: the operator made ${n1}, ${n2} and ${s2} adopt C_new = {${target5}} outside the log; ` +
          `it cannot reach ${s1}, so ${s0} and ${s1} still run C_old (${took()})`,
      );
    } else {
      await waitFor(
        `node ${s2} to enter the joint configuration`,
        async () => {
          const c = confOf(await status(s2));
          return [n1, n2].every((id) => c.voters.includes(id));
        },
      );
      const c = confOf(await status(s2));
      note(
        `the operator moved node ${s2} to voters [${c.voters}]${
          c.outgoing.length ? ` && [${c.outgoing}]` : ""
        } (safe), ${took()}`,
      );
    }

    run = await runSplit({
      bug,
      mode,
      seconds: options.seconds,
      recorder,
      note,
      minority: [s0, s1],
      rest: [s2, n1, n2],
      servingTimeoutMs: 30_000,
      cluster: {
        clientUrl: (id) => nodeOf(id)?.url ?? "http://127.0.0.1:9",
        endpoints: () => known.map((n) => n.url),
        status,
        partition,
        heal,
      },
    });
  } finally {
    await heal().catch(() => {});
    config.closeConnections();
  }
  return await judgeSplit(bug, mode, `${bug}-${mode}-kube`, recorder, run, log, {
    raftCluster: `${namespace}/${options.name}`,
  });
}

/** spec.replicas 5 with two members per change, the case both bugs need (3 -> 5 in one change). */
async function scale(config: KubeConfigH1, namespace: string, name: string): Promise<void> {
  const objects = config.makeApiClient(k8s.CustomObjectsApi);
  await objects.patchNamespacedCustomObject(
    {
      group: "storage.sys",
      version: "v1",
      plural: "raftclusters",
      namespace,
      name,
      body: { spec: { replicas: 5, reconfig: { maxParallel: 2 } } },
    },
    k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
  );
}

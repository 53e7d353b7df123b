/**
 * End to end against the real control plane: a StatefulSet of two `localkube/echo` pods behind a
 * headless Service, with a volume claim each. Checks addresses, DNS, volumes that outlive pods,
 * restarts after SIGKILL, scale to zero, and that stop() leaves no process behind.
 */
import assert from "node:assert/strict";
import { KubeApi } from "./kube_api.ts";
import { localKubeUnavailable, startLocalKube } from "./testing.ts";
import { isAlive, processTable, sleep } from "./processes.ts";
import type { ClusterState } from "./cluster.ts";

interface PodView {
  metadata: { name: string; uid: string };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: Array<{ type: string; status: string; message?: string }>;
    containerStatuses?: Array<{
      restartCount: number;
      ready: boolean;
      state: Record<string, { reason?: string; message?: string }>;
      lastState: { terminated?: { exitCode: number; signal?: number } };
    }>;
  };
}

const NS = "/api/v1/namespaces/default";

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    await sleep(250);
  }
  throw new Error(
    `timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (last error: ${last})` : ""}`,
  );
}

const isReady = (pod: PodView) =>
  pod.status?.phase === "Running" &&
  pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True");

async function echo(ip: string, path: string, init?: RequestInit): Promise<Response> {
  return await fetch(`http://${ip}:8080${path}`, { ...init, signal: AbortSignal.timeout(5_000) });
}

const manifests = {
  service: {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "echo", namespace: "default" },
    spec: { clusterIP: "None", selector: { app: "echo" }, ports: [{ name: "http", port: 8080 }] },
  },
  statefulSet: {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "echo", namespace: "default" },
    spec: {
      serviceName: "echo",
      replicas: 2,
      podManagementPolicy: "Parallel",
      selector: { matchLabels: { app: "echo" } },
      template: {
        metadata: { labels: { app: "echo" } },
        spec: {
          terminationGracePeriodSeconds: 5,
          containers: [{
            name: "echo",
            image: "localkube/echo:latest",
            args: ["--port=8080", "--data-dir", "/data"],
            env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
            ports: [{ name: "http", containerPort: 8080 }],
            readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 1 },
            livenessProbe: {
              httpGet: { path: "/healthz", port: 8080 },
              periodSeconds: 1,
              failureThreshold: 2,
            },
            volumeMounts: [{ name: "data", mountPath: "/data" }],
          }],
        },
      },
      volumeClaimTemplates: [{
        metadata: { name: "data" },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Mi" } } },
      }],
    },
  },
};

Deno.test({
  name: "localkube e2e: StatefulSet pods as processes with addresses, DNS, volumes and restarts",
  async fn(t) {
    const why = await localKubeUnavailable("agent");
    if (why) {
      console.warn("SKIPPED e2e: " + why);
      return;
    }
    const started = performance.now();
    const kube = await startLocalKube({ node: "agent" });
    const state = JSON.parse(await Deno.readTextFile(`${kube.stateDir}/localkube.json`)) as ClusterState;
    const caPem = await Deno.readTextFile(`${kube.stateDir}/apiserver/ca.crt`);
    const api = new KubeApi({ server: kube.server, token: kube.token, caPem });
    const pods = async () =>
      (await api.get<{ items: PodView[] }>(`${NS}/pods?labelSelector=app%3Decho`)).items;
    const pod = (name: string) => api.find<PodView>(`${NS}/pods/${name}`);
    console.log(`localkube started in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    try {
      await t.step("plain kubectl creates the objects with the printed kubeconfig", async () => {
        for (const manifest of [manifests.service, manifests.statefulSet]) {
          const apply = await new Deno.Command(kube.kubectl, {
            args: ["--kubeconfig", kube.kubeconfigPath, "apply", "-f", "-"],
            stdin: "piped",
            stdout: "piped",
            stderr: "piped",
          }).spawn();
          const writer = apply.stdin.getWriter();
          await writer.write(new TextEncoder().encode(JSON.stringify(manifest)));
          await writer.close();
          const out = await apply.output();
          assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
        }
      });

      let ips: Record<string, string> = {};
      await t.step("both pods become Running and Ready on distinct loopback addresses", async () => {
        const ready = await waitFor("echo-0 and echo-1 ready", async () => {
          const list = await pods();
          return list.length === 2 && list.every(isReady) ? list : undefined;
        }, 120_000);
        ips = Object.fromEntries(ready.map((p) => [p.metadata.name, p.status!.podIP!]));
        assert.match(ips["echo-0"], /^127\.\d+\.\d+\.\d+$/);
        assert.match(ips["echo-1"], /^127\.\d+\.\d+\.\d+$/);
        assert.notEqual(ips["echo-0"], ips["echo-1"]);
        assert.notEqual(ips["echo-0"], "127.0.0.1");
        const whoami = await (await echo(ips["echo-0"], "/whoami")).json();
        assert.equal(whoami.podIp, ips["echo-0"]);
        assert.equal(whoami.env.POD_NAME, "echo-0", "fieldRef env passed through");
        assert.equal(whoami.hostname, "echo-0");
        assert.equal(whoami.env.LOCALKUBE_POD_IP, ips["echo-0"]);
      });

      await t.step("the pod's service account reaches the apiserver through its KUBECONFIG", async () => {
        const whoami = await (await echo(ips["echo-0"], "/whoami")).json();
        const kubeconfig = JSON.parse(await Deno.readTextFile(whoami.env.KUBECONFIG));
        const token = kubeconfig.users[0].user.token;
        const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
        // The automount's 3607 s are extended by the apiserver (as for a kubelet), so no refresh is needed.
        assert.ok(claims.exp - claims.iat > 24 * 3600, `token lives ${claims.exp - claims.iat} s`);
        const asPod = new KubeApi({ server: kube.server, token, caPem });
        try {
          // Authenticated (not 401) as system:serviceaccount:default:default, which RBAC gives no rights.
          await assert.rejects(asPod.get(`${NS}/secrets`), (e: Error) => /HTTP 403/.test(e.message));
        } finally {
          asPod.close();
        }
      });

      await t.step("one pod resolves the other's hostname through the cluster DNS", async () => {
        const answer =
          await (await echo(ips["echo-0"], "/resolve?name=echo-1.echo.default.svc.cluster.local")).json();
        assert.deepEqual(answer.addresses, [ips["echo-1"]]);
        const short = await (await echo(ips["echo-1"], "/resolve?name=echo-0.echo")).json();
        assert.deepEqual(short.addresses, [ips["echo-0"]]);
        const [ipAddr, port] = kube.dnsAddress!.split(":");
        const service = await Deno.resolveDns("echo.default.svc.cluster.local", "A", {
          nameServer: { ipAddr, port: Number(port) },
        });
        assert.deepEqual(service.sort(), [ips["echo-0"], ips["echo-1"]].sort());
        const missing = await (await echo(ips["echo-0"], "/resolve?name=nobody.echo.default.svc")).json();
        assert.ok(missing.error, "unknown names do not resolve");
      });

      await t.step("a file written in the claim's volume survives pod deletion and recreation", async () => {
        const before = await pod("echo-0");
        const whoami = await (await echo(ips["echo-0"], "/whoami")).json();
        assert.ok(whoami.dataDir.startsWith(`${kube.stateDir}/volumes/pvc-`), `rewritten: ${whoami.dataDir}`);
        const file = `${whoami.dataDir}/hello.txt`;
        const put = await echo(ips["echo-0"], `/file?path=${file}`, { method: "PUT", body: "survives" });
        assert.equal(await put.text(), "written");
        await api.delete(`${NS}/pods/echo-0`);
        const fresh = await waitFor("a new echo-0 ready", async () => {
          const p = await pod("echo-0");
          return p && p.metadata.uid !== before!.metadata.uid && isReady(p) ? p : undefined;
        }, 90_000);
        ips["echo-0"] = fresh.status!.podIP!;
        const again = await (await echo(ips["echo-0"], "/whoami")).json();
        assert.equal(again.dataDir, whoami.dataDir, "same claim, same folder");
        assert.equal(await (await echo(ips["echo-0"], `/file?path=${file}`)).text(), "survives");
      });

      await t.step("a SIGKILLed container is restarted (restartCount 1)", async () => {
        const { pid } = await (await echo(ips["echo-1"], "/whoami")).json();
        Deno.kill(pid, "SIGKILL");
        const restarted = await waitFor("echo-1 restarted and ready", async () => {
          const p = await pod("echo-1");
          const status = p?.status?.containerStatuses?.[0];
          return status?.restartCount === 1 && status.ready ? status : undefined;
        }, 60_000);
        assert.equal(restarted.lastState.terminated?.signal, 9);
        const after = await (await echo(ips["echo-1"], "/whoami")).json();
        assert.notEqual(after.pid, pid);
      });

      await t.step("a failing liveness probe gets the container restarted (restartCount 2)", async () => {
        const { pid } = await (await echo(ips["echo-1"], "/whoami")).json();
        await (await echo(ips["echo-1"], "/sick", { method: "POST" })).text();
        const restarted = await waitFor("echo-1 restarted by its liveness probe", async () => {
          const status = (await pod("echo-1"))?.status?.containerStatuses?.[0];
          return status?.restartCount === 2 && status.ready ? status : undefined;
        }, 60_000);
        assert.equal(restarted.lastState.terminated?.exitCode, 143, "stopped with SIGTERM");
        assert.notEqual((await (await echo(ips["echo-1"], "/whoami")).json()).pid, pid);
      });

      await t.step("what localkube cannot do is reported in the pod status", async () => {
        await api.create(`${NS}/pods`, {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "nginx" },
          spec: { containers: [{ name: "web", image: "nginx:1.27" }], terminationGracePeriodSeconds: 1 },
        });
        await api.create(`${NS}/pods`, {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "exec-probe" },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{
              name: "echo",
              image: "localkube/echo",
              readinessProbe: { exec: { command: ["true"] }, periodSeconds: 1 },
            }],
          },
        });
        const waiting = await waitFor("nginx's waiting reason", async () => {
          const state = (await pod("nginx"))?.status?.containerStatuses?.[0]?.state.waiting;
          return state?.reason === "ErrImagePull" ? state : undefined;
        });
        assert.match(waiting.message!, /localkube\/echo/);
        assert.equal((await pod("nginx"))?.status?.phase, "Pending");
        const execPod = await waitFor("exec-probe ready", async () => {
          const p = await pod("exec-probe");
          return p && isReady(p) ? p : undefined;
        });
        const note = execPod.status?.conditions?.find((c) => c.type === "LocalkubeUnsupported");
        assert.equal(note?.status, "True");
        assert.match(note?.message ?? "", /exec probes are not supported/);
        await api.delete(`${NS}/pods/nginx`);
        await api.delete(`${NS}/pods/exec-probe`);
        await waitFor(
          "both pods gone",
          async () => (await pod("nginx")) || (await pod("exec-probe")) ? undefined : true,
        );
      });

      await t.step("scaling to 0 stops every container process", async () => {
        const pidDir = `${kube.stateDir}/agent/pids`;
        const containerPids = [...Deno.readDirSync(pidDir)].map((e) => Number(e.name));
        assert.equal(containerPids.length, 2);
        await api.patch("/apis/apps/v1/namespaces/default/statefulsets/echo", { spec: { replicas: 0 } });
        await waitFor("no echo pods", async () => (await pods()).length === 0 ? true : undefined, 60_000);
        const alive = await Promise.all(containerPids.map(isAlive));
        assert.deepEqual(containerPids.filter((_, i) => alive[i]), []);
        assert.deepEqual([...Deno.readDirSync(pidDir)], []);
      });
    } finally {
      api.close();
      await kube.stop();
    }
    const survivors = [];
    for (const p of state.processes) if (await isAlive(p.pid)) survivors.push(`${p.name} ${p.pid}`);
    assert.deepEqual(survivors, [], "every process of ours is gone");
    const strays = (await processTable()).filter((p) => p.args.includes(kube.stateDir));
    assert.deepEqual(strays, [], "no process refers to the state dir");
    console.log(`e2e took ${((performance.now() - started) / 1000).toFixed(1)} s`);
  },
});

Deno.test("localkube e2e: two instances run side by side with their own ports, state and pod networks", async () => {
  const why = await localKubeUnavailable("agent");
  if (why) {
    console.warn("SKIPPED e2e: " + why);
    return;
  }
  const [a, b] = await Promise.all([startLocalKube({ node: "agent" }), startLocalKube({ node: "agent" })]);
  try {
    assert.notEqual(a.server, b.server);
    assert.notEqual(a.stateDir, b.stateDir);
    assert.notEqual(a.dnsAddress, b.dnsAddress);
    const podCidr = async (kube: typeof a) => {
      const api = new KubeApi({
        server: kube.server,
        token: kube.token,
        caPem: await Deno.readTextFile(`${kube.stateDir}/apiserver/ca.crt`),
      });
      try {
        return (await api.get<{ spec: { podCIDR: string } }>("/api/v1/nodes/localkube")).spec.podCIDR;
      } finally {
        api.close();
      }
    };
    const [cidrA, cidrB] = await Promise.all([podCidr(a), podCidr(b)]);
    assert.match(cidrA, /^127\.\d+\.0\.0\/16$/);
    assert.notEqual(cidrA, cidrB);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

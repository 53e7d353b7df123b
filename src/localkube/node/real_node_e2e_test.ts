/**
 * End to end on a real node (kubelet + containerd + runc, CNI bridge, kube-proxy, cluster DNS):
 * a pod of the locally built raft-kv image with a claim, behind a headless and a ClusterIP Service.
 * Checks the node's versions, DNS and Services from inside a pod, `kubectl logs` and `exec` (through
 * the kubelet's webhook authorization), that a claim keeps its data when its pod is deleted and made
 * again, and that stop() leaves no bridge, iptables chain, cgroup, mount or claim file behind.
 * Runs where a real node can (root, containerd, runc, CNI plugins, podman or docker); else SKIPPED.
 */
import assert from "node:assert/strict";
import { kubectl as runKubectl, localKubeUnavailable, startLocalKube } from "../testing.ts";
import { cgroupDirs, iptablesChains, linkExists, mountsUnder } from "./host.ts";
import { BRIDGE, NODE_IP } from "./network.ts";
import { MACHINE_CLAIM, readClaim } from "./node_state.ts";

const NS = "node-e2e";

/** A server on 0.0.0.0:8080 answering with its hostname and the file it keeps on its claim. */
const SERVER = `
const file = "/data/visits";
const read = () => { try { return Deno.readTextFileSync(file); } catch { return ""; } };
Deno.serve({ hostname: "0.0.0.0", port: 8080, onListen: () => console.log("web listening, data: " + read()) },
  () => new Response(Deno.hostname() + " " + read()));
`;

function manifests(): unknown[] {
  const labels = { app: "web" };
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } },
    {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "data", namespace: NS },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "64Mi" } } },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "peers", namespace: NS },
      spec: { clusterIP: "None", selector: labels, ports: [{ port: 8080 }] },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: NS },
      spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
    },
    webPod(),
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "client", namespace: NS },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{
          name: "client",
          image: "raft-kv:latest",
          imagePullPolicy: "IfNotPresent",
          command: ["sleep", "3600"],
        }],
      },
    },
  ];
}

function webPod() {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web-0", namespace: NS, labels: { app: "web" } },
    spec: {
      hostname: "web-0",
      subdomain: "peers",
      terminationGracePeriodSeconds: 1,
      securityContext: { runAsUser: 1993, runAsGroup: 1993, runAsNonRoot: true },
      containers: [{
        name: "web",
        image: "raft-kv:latest",
        imagePullPolicy: "IfNotPresent",
        command: ["deno", "eval", SERVER],
        readinessProbe: { httpGet: { path: "/", port: 8080 }, periodSeconds: 1 },
        volumeMounts: [{ name: "data", mountPath: "/data" }],
      }],
      volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data" } }],
    },
  };
}

Deno.test("localkube real node e2e: containers, DNS, Services, logs, exec, claims, and a clean stop", async (t) => {
  const why = await localKubeUnavailable("kubelet");
  if (why) {
    console.warn(`SKIPPED real-node e2e: ${why}`);
    return;
  }
  const claim = await readClaim();
  if (claim) {
    console.warn(
      `SKIPPED real-node e2e: a real node already runs here (${MACHINE_CLAIM}: ${claim.stateDir})`,
    );
    return;
  }
  const chainsBefore = await iptablesChains();
  const started = performance.now();
  const kube = await startLocalKube({ node: "kubelet" });
  console.log(`real node up in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const kubectl = async (args: string[], stdin?: string) =>
    (await runKubectl(kube.kubectl, kube.kubeconfigPath, args, stdin)).trim();
  const exec = (pod: string, command: string[]) => kubectl(["exec", "-n", NS, pod, "--", ...command]);
  const waitReady = (pod: string) =>
    kubectl(["wait", "-n", NS, "--for=condition=Ready", `pod/${pod}`, "--timeout=90s"]);
  try {
    await t.step("the node is the kubelet's, on containerd, at the bridge address", async () => {
      const node = JSON.parse(await kubectl(["get", "node", "localkube", "-o", "json"]));
      assert.equal(node.status.nodeInfo.kubeletVersion, "v1.37.2");
      assert.match(node.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\//);
      assert.deepEqual(
        node.status.addresses.filter((a: { type: string }) => a.type === "InternalIP").map((
          a: { address: string },
        ) => a.address),
        [NODE_IP],
      );
      assert.ok(kube.images.includes("raft-kv:latest"), `images loaded: ${kube.images}`);
    });

    await t.step("pods run as containers of the local raft-kv image", async () => {
      for (const manifest of manifests()) await kubectl(["apply", "-f", "-"], JSON.stringify(manifest));
      await waitReady("web-0");
      await waitReady("client");
      const imageId = await kubectl(["get", "pod", "-n", NS, "web-0", "-o", "jsonpath={..imageID}"]);
      assert.match(imageId, /^sha256:[0-9a-f]{64}$/);
      assert.equal(await exec("web-0", ["id", "-u"]), "1993");
    });

    await t.step("cluster DNS and kube-proxy: a Service by name, a pod by hostname.subdomain", async () => {
      const clusterIp = await kubectl([
        "get",
        "service",
        "-n",
        NS,
        "web",
        "-o",
        "jsonpath={.spec.clusterIP}",
      ]);
      const podIp = await kubectl(["get", "pod", "-n", NS, "web-0", "-o", "jsonpath={.status.podIP}"]);
      assert.match(podIp, /^10\.244\.0\.\d+$/);
      assert.match(
        await exec("client", ["getent", "hosts", "web"]),
        new RegExp(`^${clusterIp.replaceAll(".", "\\.")}\\s`),
      );
      assert.match(
        await exec("client", ["getent", "hosts", "web-0.peers"]),
        new RegExp(`^${podIp.replaceAll(".", "\\.")}\\s`),
      );
      const fetched = await exec("client", [
        "deno",
        "eval",
        'console.log(await (await fetch("http://web.' + NS + '.svc.cluster.local/")).text())',
      ]);
      assert.match(fetched, /^web-0\b/);
    });

    await t.step("kubectl logs; a claim keeps its data when its pod is deleted and made again", async () => {
      assert.match(await kubectl(["logs", "-n", NS, "web-0"]), /web listening, data:\s*$/m);
      await exec("web-0", ["sh", "-c", "echo kept > /data/visits"]);
      await kubectl(["delete", "pod", "-n", NS, "web-0", "--wait=true"]);
      await kubectl(["apply", "-f", "-"], JSON.stringify(webPod()));
      await waitReady("web-0");
      assert.match(await kubectl(["logs", "-n", NS, "web-0"]), /web listening, data: kept\s*$/m);
    });
  } finally {
    await kube.stop();
  }

  await t.step("stop() leaves nothing of the node behind", async () => {
    assert.equal(await linkExists(BRIDGE), false, `bridge ${BRIDGE} removed`);
    const newChains = [...await iptablesChains()].filter((c) => !chainsBefore.has(c));
    assert.deepEqual(newChains, [], "no new iptables chain");
    assert.deepEqual(await cgroupDirs("kubepods"), [], "no kubepods cgroup");
    assert.deepEqual(await mountsUnder(kube.stateDir), [], "no mount under the state dir");
    assert.equal(await readClaim(), undefined, "machine claim released");
  });
});

// Child process of kube_config_test.ts: makes API calls over TLS for a while and prints a JSON summary.
// It runs apart from the test so that an nghttp2 abort (the HTTP/2 regression) fails one assertion
// instead of killing the whole test run.
// Usage: tls_client.ts <server-url> <ca-file> <h1|stock> <seconds>
import * as k8s from "@kubernetes/client-node";
import { KubeConfigH1 } from "../kube_config.ts";

const [server, caFile, mode, seconds] = Deno.args;
const kubeConfig = mode === "h1" ? new KubeConfigH1() : new k8s.KubeConfig();
kubeConfig.loadFromOptions({
  clusters: [{ name: "fake", server, caData: btoa(await Deno.readTextFile(caFile)) }],
  users: [{ name: "tester", token: "t0ken" }],
  contexts: [{ name: "fake", cluster: "fake", user: "tester", namespace: "default" }],
  currentContext: "fake",
});
const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
const deadline = performance.now() + Number(seconds) * 1000;
const started = performance.now();
let calls = 0;
let errors = 0;
while (performance.now() < deadline) {
  try {
    await core.listNamespacedPod({ namespace: "default" });
    calls++;
  } catch {
    errors++; // the server restarts under us on purpose; a refused call is expected, a crash is not
    await new Promise((r) => setTimeout(r, 20));
  }
}
const elapsedS = (performance.now() - started) / 1000;
const dispatchers = kubeConfig instanceof KubeConfigH1 ? kubeConfig.dispatcherCount : -1;
if (kubeConfig instanceof KubeConfigH1) await kubeConfig.closeConnections();
console.log(JSON.stringify({ calls, errors, callsPerSecond: Math.round(calls / elapsedS), dispatchers }));

import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { KubeConfigH1 } from "./kube_config.ts";
import { makeTestCertificate, type TestCertificate } from "./testing/test_certificate.ts";

const podList = { apiVersion: "v1", kind: "PodList", metadata: { resourceVersion: "1" }, items: [] };

function kubeConfigFor(server: string, caPem: string): KubeConfigH1 {
  const kubeConfig = new KubeConfigH1();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "fake", server, caData: btoa(caPem) }],
    users: [{ name: "tester", token: "t0ken" }],
    contexts: [{ name: "fake", cluster: "fake", user: "tester", namespace: "default" }],
    currentContext: "fake",
  });
  return kubeConfig;
}

/** Answers one HTTP/1.1 request on a raw TLS connection and returns the ALPN protocol negotiated. */
async function answerOnce(listener: Deno.TlsListener): Promise<string | null> {
  const conn = await listener.accept();
  const { alpnProtocol } = await conn.handshake();
  const buffer = new Uint8Array(64 * 1024);
  let request = "";
  while (!request.includes("\r\n\r\n")) {
    const n = await conn.read(buffer);
    if (n === null) break;
    request += new TextDecoder().decode(buffer.subarray(0, n));
  }
  const body = JSON.stringify(podList);
  await conn.write(new TextEncoder().encode(
    `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n` +
      `connection: close\r\n\r\n${body}`,
  ));
  conn.close();
  return alpnProtocol;
}

Deno.test("KubeConfigH1 over TLS", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "kube-config-test-" });
  try {
    const made = await makeTestCertificate(dir);
    if (typeof made === "string") {
      console.warn(`SKIPPED KubeConfigH1 TLS tests: ${made}`);
      return;
    }
    const certificate: TestCertificate = made;

    await t.step("offers only http/1.1 to a server that prefers h2", async () => {
      const listener = Deno.listenTls({
        hostname: "127.0.0.1",
        port: 0,
        cert: certificate.certPem,
        key: certificate.keyPem,
        alpnProtocols: ["h2", "http/1.1"],
      });
      const kubeConfig = kubeConfigFor(`https://127.0.0.1:${listener.addr.port}`, certificate.caPem);
      try {
        const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
        const [protocol, pods] = await Promise.all([
          answerOnce(listener),
          core.listNamespacedPod({ namespace: "default" }),
        ]);
        assert.equal(protocol, "http/1.1");
        assert.deepEqual(pods.items, []);
      } finally {
        listener.close();
        await kubeConfig.closeConnections();
      }
    });

    await t.step("survives server shutdowns (GOAWAY) under many calls and reuses connections", async () => {
      await Deno.writeTextFile(`${dir}/ca.pem`, certificate.caPem);
      const clientPorts = new Set<number>();
      let requests = 0;
      const serve = (port: number) =>
        Deno.serve({
          hostname: "127.0.0.1",
          port,
          cert: certificate.certPem,
          key: certificate.keyPem,
          onListen() {},
        }, (_request, info) => {
          requests++;
          clientPorts.add(info.remoteAddr.port);
          return Response.json(podList);
        });
      let server = serve(0);
      const port = server.addr.port;
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net=127.0.0.1",
          "--allow-read",
          "--allow-env",
          "--allow-sys",
          new URL("./testdata/tls_client.ts", import.meta.url).pathname,
          `https://127.0.0.1:${port}`,
          `${dir}/ca.pem`,
          "h1",
          "4",
        ],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      try {
        for (const pauseMs of [1200, 1200]) {
          await new Promise((r) => setTimeout(r, pauseMs));
          await server.shutdown(); // graceful: an h2 client would receive GOAWAY here
          server = serve(port);
        }
        const output = await child.output();
        const stderr = new TextDecoder().decode(output.stderr);
        assert.equal(
          output.code,
          0,
          `TLS client died (code ${output.code}, signal ${output.signal}):\n${stderr}`,
        );
        const summary = JSON.parse(new TextDecoder().decode(output.stdout));
        console.log(
          `KubeConfigH1 over TLS: ${summary.calls} calls at ${summary.callsPerSecond}/s across 2 server ` +
            `restarts, ${summary.errors} refused, ${clientPorts.size} client connections`,
        );
        assert.ok(summary.calls >= 100, `only ${summary.calls} calls succeeded in 4 s`);
        assert.equal(summary.dispatchers, 1);
        // One connection per server generation (plus a few for retries) proves keep-alive reuse.
        assert.ok(clientPorts.size <= 10, `${clientPorts.size} connections for ${requests} requests`);
      } finally {
        try {
          child.kill("SIGKILL");
        } catch { /* already exited */ }
        await server.shutdown();
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { ClusterCa } from "./certificates.ts";
import { certificateSubjectOf, serveHttps } from "./https_server.ts";

Deno.test("the HTTPS listener serves CA-trusting clients, tells who holds a certificate, refuses strangers and plain HTTP", async () => {
  const { ca, pem } = await ClusterCa.create("demo");
  const other = await ClusterCa.create("other");
  const serverCert = await ca.issueNode({
    nodeId: 1,
    clusterId: "demo",
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
  });
  const alice = await ca.issueClient({ name: "alice", role: "read-only" });
  const mallory = await other.ca.issueClient({ name: "mallory", role: "admin" });
  const logs: string[] = [];
  const server = await serveHttps(
    {
      hostname: "127.0.0.1",
      port: 0,
      material: { ...serverCert, ca: [pem.cert] },
      log: (_l, line) => logs.push(line),
    },
    (_request, env) => {
      const subject = certificateSubjectOf(env);
      return new Response(subject ? `${subject.CN}/${subject.OU}` : "anonymous");
    },
  );
  const url = `https://127.0.0.1:${server.port}/`;
  const get = async (client: Deno.HttpClient) => {
    try {
      const response = await fetch(url, { client, signal: AbortSignal.timeout(5_000) });
      return await response.text();
    } catch (error) {
      return `error: ${(error as Error).message}`;
    } finally {
      client.close();
    }
  };
  try {
    assertEquals(await get(Deno.createHttpClient({ caCerts: [pem.cert] })), "anonymous");
    assertEquals(await get(Deno.createHttpClient({ caCerts: [pem.cert], ...alice })), "alice/read-only");
    const stranger = await get(Deno.createHttpClient({ caCerts: [pem.cert], ...mallory }));
    assert(stranger.startsWith("error"), `a certificate from another CA was served: ${stranger}`);
    const started = Date.now();
    const plain = await fetch(`http://127.0.0.1:${server.port}/`, { signal: AbortSignal.timeout(5_000) })
      .then(
        (r) => `status ${r.status}`,
        (e) => `error: ${(e as Error).message}`,
      );
    assert(plain.startsWith("error"), `plain HTTP was served: ${plain}`);
    assert(Date.now() - started < 4_000, "plain HTTP hung instead of being refused");
    const untrustedClient = await fetch(url, { signal: AbortSignal.timeout(5_000) }).then(
      () => "served",
      (e) => `error: ${(e as Error).message}`,
    );
    assert(
      untrustedClient.startsWith("error"),
      "a client that does not trust the cluster CA must not connect",
    );
    assert(
      logs.some((l) => /refused HTTPS connection from 127\.0\.0\.1:\d+: not TLS/.test(l)),
      `no "not TLS" line naming the client in ${logs.join(" | ")}`,
    );
    assert(logs.some((l) => l.includes("refused HTTPS connection")), logs.join(" | "));
  } finally {
    await server.shutdown();
  }
});

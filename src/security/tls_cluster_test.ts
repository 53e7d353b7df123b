/**
 * A local cluster started with TLS (as `deno task local up --tls`): real processes, real
 * certificates from the CA in its state directory, mutual TLS between the peers, client tokens.
 */
import assert from "node:assert/strict";
import { HistoryRecorder, parseJsonlHistory } from "../check/history.ts";
import { checkHistory } from "../check/checker.ts";
import { kvModel } from "../check/kv_model.ts";
import { verdictLine } from "../check/summary.ts";
import { RecordedWorkload } from "../../experiments/lib/workload.ts";
import { fetchNodeStatus, KvClient } from "../client/mod.ts";
import { sleep, until, withSupervisedCluster } from "../local/test_support.ts";
import { ClusterCa } from "./certificates.ts";
import { localClientAccess } from "./local_pki.ts";
import { mutualTlsChannel } from "./tls_peer_channel.ts";
import { PeerTransport } from "../transport/mod.ts";

/** A request's status, or the error text when no HTTP answer came. */
async function statusOf(url: string, init: RequestInit & { client?: Deno.HttpClient }): Promise<string> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
    await response.body?.cancel();
    return `status ${response.status}`;
  } catch (error) {
    return `error: ${(error as Error).message}`;
  } finally {
    init.client?.close();
  }
}

Deno.test({
  name:
    "a TLS local cluster: HTTPS for CA-trusting clients; plain HTTP, strangers and impostor peers refused; " +
    "a read-only token cannot write; linearizable under load",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withSupervisedCluster({ tls: true }, async (sup) => {
      const security = sup.state.security!;
      assert.ok(security, "the state names the cluster's CA and tokens");
      const caPem = await Deno.readTextFile(security.caFile);
      const urls = sup.state.nodes.map((n) => n.clientUrl);
      assert.ok(urls.every((u) => u.startsWith("https://")), urls.join(", "));

      // KV over HTTPS through the client library, with what the state directory holds.
      const access = await localClientAccess(security);
      const kv = new KvClient({ endpoints: urls, ...access });
      try {
        await kv.put("greeting", "hello over tls");
        assert.equal((await kv.get("greeting")).value, "hello over tls");
      } finally {
        await kv.close();
      }

      const url = `${urls[0]}/kv/greeting`;
      const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
      // Plain HTTP to the TLS port: refused at once, and the node says why in its log.
      const plain = await statusOf(url.replace("https://", "http://"), {
        headers: bearer(security.tokens.admin),
      });
      assert.match(plain, /^error/, `plain HTTP was answered: ${plain}`);
      // A client certificate that this cluster's CA did not issue: refused at the TLS layer.
      const stranger = await ClusterCa.create(sup.state.clusterId);
      const strangerCert = await stranger.ca.issueClient({ name: "mallory", role: "admin" });
      const refused = await statusOf(url, {
        client: Deno.createHttpClient({ caCerts: [caPem], ...strangerCert }),
        headers: bearer(security.tokens.readWrite),
      });
      assert.match(refused, /^error/, `an untrusted client certificate was served: ${refused}`);
      // A client that does not trust the cluster CA does not connect either.
      assert.match(await statusOf(url, { headers: bearer(security.tokens.readWrite) }), /^error/);

      // A read-only token cannot write: 403, and the value stays.
      const https = () => Deno.createHttpClient({ caCerts: [caPem] });
      const write = await statusOf(url, {
        client: https(),
        method: "PUT",
        headers: { ...bearer(security.tokens.readOnly), "content-type": "application/json" },
        body: JSON.stringify({ value: "overwritten by a reader" }),
      });
      assert.equal(write, "status 403");
      assert.equal(await statusOf(url, { client: https() }), "status 401");
      const reader = new KvClient({ endpoints: urls, ...await localClientAccess(security, "readOnly") });
      try {
        assert.equal((await reader.get("greeting")).value, "hello over tls");
      } finally {
        await reader.close();
      }

      // An impostor with node 2's certificate dials node 1 claiming to be node 9: refused.
      const node2 = sup.state.nodes.find((n) => n.id === 2)!;
      const node1 = sup.state.nodes.find((n) => n.id === 1)!;
      const impostorLog: string[] = [];
      const impostor = new PeerTransport({
        nodeId: 9,
        clusterId: sup.state.clusterId,
        token: sup.state.peerToken,
        listen: { hostname: "127.0.0.1", port: 0 },
        peers: new Map([[1, node1.peerAddress]]),
        onMessage: () => {},
        log: (level, line) => impostorLog.push(`${level}: ${line}`),
        channel: mutualTlsChannel(
          {
            cert: await Deno.readTextFile(`${security.dir}/node-${node2.id}.crt`),
            key: await Deno.readTextFile(`${security.dir}/node-${node2.id}.key`),
            ca: [caPem],
          },
          (level, line) => impostorLog.push(`${level}: ${line}`),
        ),
      });
      await impostor.start();
      try {
        impostor.send([{ type: "heartbeat", from: 9, to: 1, term: 1_000, commit: 0 }]);
        const node1Log = () => Deno.readTextFileSync(node1.logFile);
        await until(
          "node 1 to refuse the impostor",
          () => node1Log().includes("hello claims node 9 but the peer's certificate is for node 2"),
          10_000,
        );
        assert.match(node1Log(), /refused HTTPS connection from .*not TLS/);
        assert.match(node1Log(), /refused HTTPS connection from .*not issued by this cluster's CA/);
      } finally {
        await impostor.close();
      }

      // A short recorded run over HTTPS with tokens, checked by the project's checker.
      const recorder = new HistoryRecorder({ model: "kv" });
      const endpoints = () => sup.state.nodes.map((n) => n.clientUrl);
      const workload = new RecordedWorkload(recorder, { keys: 8, endpoints, requestTimeoutMs: 3000, access });
      workload.start(4);
      await sleep(2_000);
      // A fault under TLS: the leader is SIGKILLed; the supervisor restarts it, it reconnects over
      // mutual TLS and the cluster elects a leader again.
      const statusClient = https();
      const leader = await until("a leader", async () => {
        for (const n of sup.state.nodes) {
          const status = await fetchNodeStatus<{ role: string }>(n.clientUrl, 1000, statusClient);
          if (status?.role === "leader") return n;
        }
      }).finally(() => statusClient.close());
      recorder.note(`SIGKILL the leader, node ${leader.id}`);
      Deno.kill(leader.pid!, "SIGKILL");
      await sleep(4_000);
      await workload.stop();
      await workload.finalReads(endpoints());
      const { history } = parseJsonlHistory(recorder.toJsonl());
      const result = await checkHistory(history, { model: kvModel, timeoutMs: 60_000 });
      console.log(
        JSON.stringify({ killedLeader: leader.id, counts: workload.counts, verdict: verdictLine(result) }),
      );
      assert.equal(result.verdict, "linearizable", verdictLine(result));
      assert.ok(
        sup.state.nodes.find((n) => n.id === leader.id)!.restarts >= 1,
        "the killed leader was restarted",
      );
      assert.ok(workload.counts.ok > 50, `only ${workload.counts.ok} operations succeeded over TLS`);
    });
  },
});

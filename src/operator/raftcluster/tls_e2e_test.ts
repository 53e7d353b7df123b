/**
 * End to end on localkube: a RaftCluster with spec.tls and spec.auth (deploy/examples/raftcluster-tls-auth.yaml,
 * applied unchanged) through the operator. It forms over TLS (each member makes its own key and gets its
 * certificate with its identity); it serves HTTPS with role tokens (401 without one, 403 for a read-only
 * token's write, plain HTTP refused, a client that does not trust the CA refused); its Secrets hold what
 * they should and status/Events hold no secret; then spec.tls.rotate is raised under a recorded workload:
 * the CA and every member certificate are rotated member by member, and the history checks linearizable.
 *
 * The test runs outside the cluster, where pod DNS names do not resolve: its client connects to the pod
 * IPs and checks each certificate against the pod's DNS name (what a client inside the cluster reaches).
 * Skipped with one loud line when localkube cannot run here.
 */
import assert from "node:assert/strict";
import { KvClient, KvError } from "../../client/mod.ts";
import { waitFor } from "../framework/testing/wait.ts";
import { checkHistory } from "../../check/checker.ts";
import { HistoryRecorder, parseJsonlHistory } from "../../check/history.ts";
import { modelByName } from "../../check/models.ts";
import { verdictLine } from "../../check/summary.ts";
import { RecordedWorkload } from "../../../experiments/lib/workload.ts";
import { namedFetch } from "../../security/named_fetch.ts";
import { splitPemBundle } from "../../security/tls_files.ts";
import { ClusterApi } from "./cluster_api.ts";
import { installCrd, kubectl, OperatorProcess, stepper, withLocalKube } from "./e2e_support.ts";
import { type ClusterRef, labelSelector, podDnsName } from "./names.ts";
import type { RaftClusterStatus, TlsPhase } from "./types.ts";

const EXAMPLE = new URL("../../../deploy/examples/raftcluster-tls-auth.yaml", import.meta.url).pathname;
const NAME = "secure";

/** What a user inside the cluster sees, from outside it: pod IPs dialled, pod DNS names checked. */
class PodAccess {
  readonly names = new Map<string, string>();
  urls: string[] = [];
  /** Every CA of the trust bundle seen so far (a client follows the trust Secret). */
  trusted: string[] = [];

  constructor(private readonly api: ClusterApi, private readonly ref: ClusterRef) {}

  async refresh(readTrust: () => Promise<string>): Promise<void> {
    const pods = await this.api.listPods(this.ref.namespace, labelSelector(this.ref));
    const urls: string[] = [];
    for (const pod of pods) {
      if (!pod.ip || pod.terminating) continue;
      this.names.set(pod.ip, podDnsName(this.ref, pod.name));
      urls.push(`https://${pod.ip}:8080`);
    }
    if (urls.length) this.urls = urls.sort();
    for (const ca of splitPemBundle(await readTrust())) if (!this.trusted.includes(ca)) this.trusted.push(ca);
  }

  /** A fetch that dials the pod IP and verifies the certificate against the pod's name and `ca`. */
  fetch(ca: () => string[] = () => this.trusted) {
    return (
      url: string,
      init: { method?: string; headers?: HeadersInit; body?: string; signal?: AbortSignal },
    ) => {
      const target = new URL(url);
      const ip = target.hostname;
      const name = this.names.get(ip);
      if (!name) return Promise.reject(new TypeError(`fetch failed: no pod at ${ip}`));
      target.hostname = name;
      return namedFetch(target.toString(), { ...init, connectTo: ip, tls: { ca: ca() } });
    };
  }
}

Deno.test({
  name:
    "e2e: a TLS RaftCluster with tokens: HTTPS only, roles enforced, CA rotated under writes, linearizable",
  async fn(t) {
    await withLocalKube("raftcluster-tls-e2e-", async ({ kube, kubeConfig, teardown, dir }) => {
      const api = new ClusterApi(kubeConfig);
      const namespace = "raft-tls";
      const run = (args: string[]) => kubectl(kube.kubectl, kube.kubeconfigPath, ["-n", namespace, ...args]);
      const secret = async (name: string, key: string) =>
        atob(await run(["get", "secret", name, "-o", `jsonpath={.data.${key.replaceAll(".", "\\.")}}`]));
      const step = stepper(t);
      const status = async () => {
        const body = await api.getCluster(namespace, NAME);
        return { body, s: (body?.status ?? {}) as RaftClusterStatus };
      };
      const running = (timeoutMs: number) =>
        waitFor(
          `${NAME} Running with 3 voters`,
          async () => {
            const { body, s } = await status();
            return body && s.phase === "Running" && s.step === "Idle" && s.voters?.length === 3 &&
              s.readyReplicas === 3 && s.observedGeneration === body.metadata.generation &&
              (s.tls?.phase ?? "Stable") === "Stable" && body;
          },
          timeoutMs,
          250,
        );
      let operator: OperatorProcess | undefined;
      let access: PodAccess | undefined;
      const tokens: Record<string, string> = {};
      const kv = (token: string | undefined, endpoints = access!.urls) =>
        new KvClient({
          endpoints,
          ...(token ? { token } : {}),
          fetch: access!.fetch(),
          retry: { operationTimeoutMs: 10_000, requestTimeoutMs: 3_000 },
        });

      try {
        await step("the TLS+auth example applies unchanged and forms over TLS", async () => {
          await installCrd(kube, namespace);
          const started = await OperatorProcess.start(`${dir}/operator.log`, [
            ...["--kubeconfig", kube.kubeconfigPath, "--namespace", namespace],
            ...["--lease-namespace", namespace, "--identity", "operator-tls"],
          ]);
          operator = started;
          teardown.add(`operator (pid ${started.pid})`, () => started.terminate(), { pid: started.pid });
          await run(["apply", "-f", EXAMPLE]);
          const body = await running(180_000);
          const ref = { namespace, name: NAME, uid: body.metadata.uid };
          access = new PodAccess(api, ref);
          await access.refresh(() => secret(`${NAME}-trust`, "ca.crt"));
          assert.equal(access.urls.length, 3);
          for (const role of ["admin", "read-write", "read-only"]) {
            tokens[role] = await secret(`${NAME}-token-${role}`, "token");
            assert.match(tokens[role], /^[0-9a-f]{32}$/);
          }
        });

        await step(
          "Secrets: no member key anywhere, digests only in the auth file; nothing secret in status or Events",
          async () => {
            const trust = await secret(`${NAME}-trust`, "ca.crt");
            assert.equal(splitPemBundle(trust).length, 1);
            assert.doesNotMatch(trust, /PRIVATE KEY/);
            assert.match(
              await secret(`${NAME}-ca`, "ca.key"),
              /PRIVATE KEY/,
              "the CA key stays in the operator's Secret",
            );
            const auth = await secret(`${NAME}-auth`, "auth.json");
            for (const token of Object.values(tokens)) {
              assert.ok(!auth.includes(token), "the auth file holds no token");
            }
            assert.match(auth, /"sha256":"[0-9a-f]{64}"/);
            const sets = JSON.parse(await run(["get", "statefulset", NAME, "-o", "json"]));
            const pod = sets.spec.template.spec;
            assert.ok(pod.containers[0].args.includes("--tls-bootstrap"));
            assert.equal(pod.containers[0].readinessProbe.httpGet.scheme, "HTTPS");
            for (const volume of pod.volumes.filter((v: { secret?: unknown }) => v.secret)) {
              assert.equal(volume.secret.defaultMode, 0o400, `${volume.name} mounted 0400`);
              assert.ok(!volume.secret.secretName.endsWith("-ca"), "the CA Secret is never mounted");
            }
            const everything = JSON.stringify((await status()).s) +
              await run(["get", "events", "-o", "json"]) + await operator!.log();
            for (const token of Object.values(tokens)) {
              assert.ok(!everything.includes(token), "no token in status, Events, log");
            }
            assert.ok(!everything.includes("PRIVATE KEY") && !everything.includes("BEGIN CERTIFICATE"));
          },
        );

        await step(
          "HTTPS with tokens: 401 without, 403 read-only writes, plain HTTP and an untrusting client refused",
          async () => {
            await using writer = kv(tokens["read-write"]);
            // Any member serves: a follower forwards to the leader by its DNS name over TLS.
            for (const url of access!.urls) {
              await writer.put(`hello-${url}`, "tls", { node: url });
              assert.equal((await writer.get(`hello-${url}`, { node: url })).value, "tls");
            }
            await using anonymous = kv(undefined);
            await assert.rejects(anonymous.get("hello"), (e: KvError) => e.status === 401);
            await using reader = kv(tokens["read-only"]);
            await assert.rejects(
              reader.put(`hello-${access!.urls[0]}`, "nope"),
              (e: KvError) => e.status === 403,
            );
            assert.equal((await writer.get(`hello-${access!.urls[0]}`)).value, "tls", "nothing changed");
            const plain = access!.urls[0].replace("https:", "http:");
            await assert.rejects(fetch(`${plain}/healthz`, { signal: AbortSignal.timeout(5_000) }));
            const stranger = await (await import("../../security/certificates.ts")).ClusterCa.create(
              "stranger",
            );
            await assert.rejects(access!.fetch(() => [stranger.pem.cert])(`${access!.urls[0]}/healthz`, {}));
          },
        );

        await step(
          "spec.tls.rotate 1 under writes: new CA trusted, members reissued and rolled, old CA dropped; linearizable",
          async () => {
            const recorder = new HistoryRecorder({ model: "kv" });
            const originalCa = access!.trusted[0];
            let polling = true;
            const phases = new Set<TlsPhase>();
            const poll = (async () => {
              while (polling) {
                await access!.refresh(() => secret(`${NAME}-trust`, "ca.crt")).catch(() => {});
                const phase = (await status().catch(() => undefined))?.s.tls?.phase;
                if (phase) phases.add(phase);
                await new Promise((r) => setTimeout(r, 300));
              }
            })();
            const workload = new RecordedWorkload(recorder, {
              keys: 8,
              endpoints: () => access!.urls,
              requestTimeoutMs: 3_000,
              access: { token: tokens["read-write"], fetch: access!.fetch() },
            });
            workload.start(3);
            try {
              await new Promise((r) => setTimeout(r, 2_000));
              await run([
                "patch",
                "raftcluster",
                NAME,
                "--type=merge",
                "-p",
                '{"spec":{"tls":{"enabled":true,"rotate":1}}}',
              ]);
              await waitFor(
                "the rotation started",
                async () => (await status()).s.tls?.phase !== "Stable",
                30_000,
                100,
              );
              await waitFor(
                "rotation 1 done",
                async () => {
                  const { s } = await status();
                  return s.tls?.rotation === 1 && s.tls.phase === "Stable" && s.phase === "Running";
                },
                240_000,
                500,
              );
            } finally {
              polling = false;
              await poll;
              await workload.stop();
            }
            for (const phase of ["TrustNew", "Reissue", "DropOld"] as const) {
              assert.ok(phases.has(phase), `phase ${phase} seen`);
            }
            // Three rolls (trust both CAs, new certificates, old CA dropped), one member at a time.
            const log = (await operator!.log()).split("\n");
            const restarts = log.filter((l) =>
              /rolling upgrade \(\d+\/3 members updated\): restarting /.test(l)
            );
            const rotation = log.filter((l) => /certificate rotation: /.test(l));
            console.log(
              `${restarts.length} member restarts; ${
                rotation.map((l) => l.replace(/^.*certificate rotation: /, "")).join(" | ")
              }`,
            );
            assert.ok(restarts.length >= 9, `3 rolls of 3 members, saw ${restarts.length} restarts`);
            assert.equal(
              rotation.filter((l) => /has a certificate of the new CA/.test(l)).length,
              3,
              "3 members reissued",
            );
            const bundle = splitPemBundle(await secret(`${NAME}-trust`, "ca.crt"));
            assert.equal(bundle.length, 1, "the old CA dropped");
            assert.notEqual(bundle[0], originalCa, "a new CA");
            await access!.refresh(() => secret(`${NAME}-trust`, "ca.crt"));
            for (const url of access!.urls) {
              const onlyNew = await access!.fetch(() => bundle)(`${url}/healthz`, {
                signal: AbortSignal.timeout(5_000),
              });
              assert.equal(onlyNew.status, 200, `${url} presents a certificate of the new CA`);
              await assert.rejects(
                access!.fetch(() => [originalCa])(`${url}/healthz`, {}),
                `${url}: not the old CA's`,
              );
            }
            const parsed = parseJsonlHistory(recorder.toJsonl());
            const result = await checkHistory(parsed.history, {
              model: modelByName("kv"),
              timeoutMs: 60_000,
            });
            console.log(
              `history: ${recorder.size} operations, ${JSON.stringify(workload.counts)}; ${
                verdictLine(result)
              }`,
            );
            await Deno.writeTextFile(`${dir}/history.jsonl`, recorder.toJsonl());
            assert.equal(result.verdict, "linearizable", verdictLine(result));
            assert.ok(workload.counts.ok > 50, `only ${workload.counts.ok} operations completed`);
          },
        );

        await step(
          "the CA Secret deleted under running members: a SecretMissing warning, no new CA",
          async () => {
            const trust = await secret(`${NAME}-trust`, "ca.crt");
            await run(["delete", "secret", `${NAME}-ca`]);
            await waitFor(
              "a SecretMissing Event",
              async () =>
                (await run(["get", "events", "-o", "json"])).includes(`Secret ${NAME}-ca is missing`),
              30_000,
              250,
            );
            await new Promise((r) => setTimeout(r, 2_000));
            assert.equal(
              await secret(`${NAME}-trust`, "ca.crt"),
              trust,
              "the members' trust bundle is unchanged",
            );
            await assert.rejects(run(["get", "secret", `${NAME}-ca`]), "no CA invented");
          },
        );
      } catch (error) {
        if (operator) {
          console.error(
            `--- operator log (tail) ---\n${(await operator.log()).split("\n").slice(-80).join("\n")}`,
          );
        }
        throw error;
      }
    }, { seedImages: true });
  },
});

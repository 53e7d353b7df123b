/**
 * Starts etcd, kube-apiserver, kube-controller-manager and kube-scheduler on 127.0.0.1 with free
 * ports, token authentication, RBAC and fresh service-account keys, and waits until each is healthy.
 */
import { Binaries, elapsed } from "./build.ts";
import { randomToken, serviceAccountKeyPair, tokenAuthFile } from "./credentials.ts";
import { freePort, freePorts } from "../local/ports.ts";
import { kubeconfigYaml } from "./kubeconfig.ts";
import { isAlive, sleep, SpawnedProcess, spawnLogged, stopProcess } from "./processes.ts";

export interface RecordedProcess {
  name: string;
  pid: number;
  logFile: string;
}

export interface ControlPlane {
  server: string;
  caPem: string;
  /** A `system:masters` token: the test's and `kubectl`'s identity. */
  adminToken: string;
  adminKubeconfig: string;
  /** The node agent's identity (also `system:masters`: it provisions volumes too). */
  agentToken: string;
  processes: RecordedProcess[];
  spawned: SpawnedProcess[];
}

const SERVICE_CIDR = "10.0.0.0/24";

/**
 * Where the apiserver listens and what it adds for a real node. Default (node agent or none):
 * 127.0.0.1, and the `kubernetes` Service without endpoints (the API refuses loopback ones).
 */
export interface ApiserverPlacement {
  /** Bind and advertise address; not loopback: the `kubernetes` Service's endpoint, reached from pods. */
  address: string;
  serviceCidr: string;
  extraArgs: string[];
}

export async function startControlPlane(options: {
  binaries: Binaries;
  stateDir: string;
  apiserver?: ApiserverPlacement;
  log: (line: string) => void;
}): Promise<ControlPlane> {
  const { binaries, stateDir, log } = options;
  const address = options.apiserver?.address ?? "127.0.0.1";
  const serviceCidr = options.apiserver?.serviceCidr ?? SERVICE_CIDR;
  const started = performance.now();
  const dirs = {
    logs: `${stateDir}/logs`,
    etcd: `${stateDir}/etcd`,
    certs: `${stateDir}/apiserver/certs`,
    controllerManager: `${stateDir}/controller-manager`,
    scheduler: `${stateDir}/scheduler`,
  };
  for (const dir of Object.values(dirs)) await Deno.mkdir(dir, { recursive: true });
  const processes: RecordedProcess[] = [];
  const spawned: SpawnedProcess[] = [];
  const launch = (name: string, program: string, args: string[]) => {
    const logFile = `${dirs.logs}/${name}.log`;
    const child = spawnLogged(program, { args, logFile });
    processes.push({ name, pid: child.pid, logFile });
    spawned.push(child);
    return { child, logFile };
  };

  try {
    const users = {
      admin: { token: randomToken(), user: "localkube-admin", groups: ["system:masters"] },
      controllerManager: { token: randomToken(), user: "system:kube-controller-manager", groups: [] },
      scheduler: { token: randomToken(), user: "system:kube-scheduler", groups: [] },
      agent: { token: randomToken(), user: "localkube-node-agent", groups: ["system:masters"] },
    };
    const tokenFile = `${stateDir}/apiserver/tokens.csv`;
    await Deno.writeTextFile(tokenFile, tokenAuthFile(Object.values(users)), { mode: 0o600 });
    const keys = await serviceAccountKeyPair();
    const saKey = `${stateDir}/apiserver/sa.key`;
    const saPub = `${stateDir}/apiserver/sa.pub`;
    await Deno.writeTextFile(saKey, keys.privatePem, { mode: 0o600 });
    await Deno.writeTextFile(saPub, keys.publicPem);

    const [etcdPort, etcdPeerPort] = freePorts(2);
    const etcd = launch("etcd", binaries.etcd, [
      "--name=localkube",
      `--data-dir=${dirs.etcd}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=localkube=http://127.0.0.1:${etcdPeerPort}`,
      "--unsafe-no-fsync=true", // tests throw the data away; fsync would only slow every write
      "--log-level=warn",
    ]);
    await waitHealthy("etcd", etcd, () => httpOk(`http://127.0.0.1:${etcdPort}/health`), log);

    const apiPort = freePort();
    const server = `https://${address}:${apiPort}`;
    const apiserver = launch("kube-apiserver", binaries.apiserver, [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      `--bind-address=${address}`,
      `--advertise-address=${address}`,
      // The API refuses loopback addresses in Endpoints, so the `kubernetes` Service gets none;
      // the agent's DNS answers for it instead.
      ...(options.apiserver ? [] : ["--endpoint-reconciler-type=none"]),
      ...(options.apiserver?.extraArgs ?? []),
      `--secure-port=${apiPort}`,
      `--cert-dir=${dirs.certs}`, // the apiserver makes its own self-signed serving certificate here
      `--token-auth-file=${tokenFile}`,
      "--authorization-mode=Node,RBAC",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      `--service-cluster-ip-range=${serviceCidr}`,
      "--allow-privileged=true",
      "--profiling=false",
    ]);
    const apiCaFile = `${dirs.certs}/apiserver.crt`;
    let caPem = "";
    await waitHealthy("kube-apiserver", apiserver, async () => {
      caPem ||= await issuerCertificate(apiCaFile);
      return caPem !== "" && await httpsOk(`${server}/readyz`, caPem, users.admin.token);
    }, log);

    const kubeconfig = async (name: string, user: { token: string; user: string }) => {
      const path = `${stateDir}/${name}.kubeconfig`;
      await Deno.writeTextFile(
        path,
        kubeconfigYaml({ server, caPem, token: user.token, user: user.user, namespace: "default" }),
        {
          mode: 0o600,
        },
      );
      return path;
    };
    const adminKubeconfig = await kubeconfig("admin", users.admin);
    const caFile = `${stateDir}/apiserver/ca.crt`;
    await Deno.writeTextFile(caFile, caPem);

    const cmKubeconfig = await kubeconfig("controller-manager", users.controllerManager);
    const cmPort = freePort();
    const controllerManager = launch("kube-controller-manager", binaries.controllerManager, [
      `--kubeconfig=${cmKubeconfig}`,
      `--authentication-kubeconfig=${cmKubeconfig}`,
      `--authorization-kubeconfig=${cmKubeconfig}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${cmPort}`,
      `--cert-dir=${dirs.controllerManager}`,
      "--leader-elect=false",
      "--use-service-account-credentials=true",
      `--service-account-private-key-file=${saKey}`,
      `--root-ca-file=${caFile}`,
      `--service-cluster-ip-range=${serviceCidr}`,
      "--profiling=false",
    ]);
    const schedulerKubeconfig = await kubeconfig("scheduler", users.scheduler);
    const schedulerPort = freePort();
    const scheduler = launch("kube-scheduler", binaries.scheduler, [
      `--kubeconfig=${schedulerKubeconfig}`,
      `--authentication-kubeconfig=${schedulerKubeconfig}`,
      `--authorization-kubeconfig=${schedulerKubeconfig}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${schedulerPort}`,
      `--cert-dir=${dirs.scheduler}`,
      "--leader-elect=false",
      "--profiling=false",
    ]);
    await Promise.all([
      waitHealthy("kube-controller-manager", controllerManager, async () => {
        const ca = await issuerCertificate(`${dirs.controllerManager}/kube-controller-manager.crt`);
        return ca !== "" && await httpsOk(`https://127.0.0.1:${cmPort}/healthz`, ca);
      }, log),
      waitHealthy("kube-scheduler", scheduler, async () => {
        const ca = await issuerCertificate(`${dirs.scheduler}/kube-scheduler.crt`);
        return ca !== "" && await httpsOk(`https://127.0.0.1:${schedulerPort}/healthz`, ca);
      }, log),
    ]);
    log(`control plane healthy after ${elapsed(started)}: ${server}`);
    return {
      server,
      caPem,
      adminToken: users.admin.token,
      adminKubeconfig,
      agentToken: users.agent.token,
      processes,
      spawned,
    };
  } catch (e) {
    // Leave nothing running behind a failed start.
    for (const p of processes.reverse()) await stopProcess(p.pid, 2_000);
    throw e;
  }
}

/**
 * The CA that signed a self-signed serving certificate: components write `<name>.crt` as the
 * serving certificate followed by its issuer. "" while the file is not written yet.
 */
async function issuerCertificate(path: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return "";
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
  return blocks.length ? blocks[blocks.length - 1] : "";
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

async function httpsOk(url: string, caPem: string, token?: string): Promise<boolean> {
  const client = Deno.createHttpClient({ caCerts: [caPem], http2: false });
  try {
    const response = await fetch(url, {
      client,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(2_000),
    });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

/** Polls `healthy` until it says yes; fails at once with the log's tail if the process exits. */
async function waitHealthy(
  name: string,
  process: { child: SpawnedProcess; logFile: string },
  healthy: () => Promise<boolean>,
  log: (line: string) => void,
  timeoutMs = 120_000,
): Promise<void> {
  const started = performance.now();
  log(`starting ${name} (pid ${process.child.pid}, log ${process.logFile})`);
  while (performance.now() - started < timeoutMs) {
    if (!await isAlive(process.child.pid)) {
      throw new Error(
        `${name} exited during start-up; last lines of ${process.logFile}:\n${await tail(process.logFile)}`,
      );
    }
    if (await healthy()) {
      log(`${name} healthy after ${elapsed(started)}`);
      return;
    }
    await sleep(250);
  }
  throw new Error(
    `${name} not healthy after ${timeoutMs / 1000} s; last lines of ${process.logFile}:\n${await tail(
      process.logFile,
    )}`,
  );
}

export async function tail(path: string, lines = 20): Promise<string> {
  try {
    return (await Deno.readTextFile(path)).trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

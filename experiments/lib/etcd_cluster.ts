/**
 * A 3-member etcd on loopback, started for one benchmark run and stopped by pid at its end: the
 * reference the benchmarks compare raft-kv against, measured live in the same run (no stored
 * numbers). It uses Debian's etcd-server (3.4.23) with its defaults (fsync on, heartbeat 100 ms,
 * election timeout 1000 ms); clients speak to its JSON gateway (/v3/kv/*), plain HTTP/1.1 as
 * raft-kv's clients do, so both systems meet the same load generator.
 */
import { freePorts } from "../../src/local/ports.ts";

export const ETCD_INSTALL_HINT =
  "etcd is not installed: install Debian's etcd 3.4 with `apt-get install etcd-server` (or put an `etcd` " +
  "binary on PATH, or set ETCD_BIN), then run again";

export interface EtcdMember {
  name: string;
  id: number;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  logFile: string;
  child?: Deno.ChildProcess;
}

function etcdBinary(): string {
  return Deno.env.get("ETCD_BIN") ?? "etcd";
}

/** The installed etcd's version, or undefined when there is none. */
export async function etcdVersion(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(etcdBinary(), { args: ["--version"], stdout: "piped", stderr: "null" })
      .output();
    return new TextDecoder().decode(out.stdout).match(/etcd Version: (\S+)/)?.[1];
  } catch {
    return undefined;
  }
}

/** etcd's heartbeat interval and election timeout, in milliseconds. */
export interface EtcdTiming {
  heartbeatMs: number;
  electionMs: number;
}
export const ETCD_DEFAULT_TIMING: EtcdTiming = { heartbeatMs: 100, electionMs: 1000 };

const b64 = (s: string) => btoa(s);

export class EtcdCluster {
  private constructor(
    readonly members: EtcdMember[],
    readonly dir: string,
    readonly version: string,
    readonly timing: EtcdTiming,
  ) {}

  /** Starts the members and waits for a leader; throws with the install hint when etcd is missing. */
  static async start(size = 3, timing: EtcdTiming = ETCD_DEFAULT_TIMING): Promise<EtcdCluster> {
    const version = await etcdVersion();
    if (!version) throw new Error(ETCD_INSTALL_HINT);
    const dir = await Deno.makeTempDir({ prefix: "raftkv-bench-etcd-" });
    const ports = freePorts(2 * size);
    const members: EtcdMember[] = Array.from({ length: size }, (_, i) => ({
      name: `etcd${i + 1}`,
      id: i + 1,
      clientUrl: `http://127.0.0.1:${ports[2 * i]}`,
      peerUrl: `http://127.0.0.1:${ports[2 * i + 1]}`,
      dataDir: `${dir}/etcd${i + 1}`,
      logFile: `${dir}/etcd${i + 1}.log`,
    }));
    const cluster = new EtcdCluster(members, dir, version, timing);
    for (const m of members) cluster.spawn(m, "new");
    try {
      await cluster.waitForLeader(20_000);
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  private spawn(m: EtcdMember, state: "new" | "existing"): void {
    const initialCluster = this.members.map((x) => `${x.name}=${x.peerUrl}`).join(",");
    m.child = new Deno.Command(etcdBinary(), {
      args: [
        "--name",
        m.name,
        "--data-dir",
        m.dataDir,
        "--listen-client-urls",
        m.clientUrl,
        "--advertise-client-urls",
        m.clientUrl,
        "--listen-peer-urls",
        m.peerUrl,
        "--initial-advertise-peer-urls",
        m.peerUrl,
        "--initial-cluster",
        initialCluster,
        "--initial-cluster-token",
        "raftkv-bench",
        "--initial-cluster-state",
        state,
        "--heartbeat-interval",
        String(this.timing.heartbeatMs),
        "--election-timeout",
        String(this.timing.electionMs),
        "--logger",
        "zap",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Both streams to the member's log file (append mode: the two writers interleave whole writes).
    for (const stream of [m.child.stdout, m.child.stderr]) {
      stream.pipeTo(Deno.openSync(m.logFile, { append: true, create: true }).writable).catch(() => {});
    }
  }

  /** The member that leads, by each answering member's own view. */
  async leader(): Promise<EtcdMember | undefined> {
    for (const m of this.members) {
      if (!m.child) continue;
      const s = await this.status(m).catch(() => undefined);
      if (s && s.leader !== "0" && s.leader === s.header.member_id) return m;
    }
    return undefined;
  }

  /** The leader as one member sees it (undefined while it knows none). */
  async leaderSeenBy(m: EtcdMember): Promise<string | undefined> {
    const s = await this.status(m).catch(() => undefined);
    return s && s.leader !== "0" ? s.leader : undefined;
  }

  private async status(m: EtcdMember): Promise<{ leader: string; header: { member_id: string } }> {
    const r = await fetch(`${m.clientUrl}/v3/maintenance/status`, {
      method: "POST",
      body: "{}",
      signal: AbortSignal.timeout(500),
    });
    if (!r.ok) throw new Error(`status ${r.status}`);
    return await r.json();
  }

  async waitForLeader(timeoutMs: number): Promise<EtcdMember> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const l = await this.leader();
      if (l) return l;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`etcd elected no leader within ${timeoutMs} ms; see the logs in ${this.dir}`);
  }

  /** SIGKILLs a member (its data stays); `restart` brings it back. */
  async kill(m: EtcdMember): Promise<void> {
    m.child?.kill("SIGKILL");
    await m.child?.status;
    m.child = undefined;
  }

  restart(m: EtcdMember): void {
    this.spawn(m, "existing");
  }

  async stop(): Promise<void> {
    for (const m of this.members) {
      try {
        m.child?.kill("SIGKILL");
      } catch { /* already gone */ }
      await m.child?.status;
      m.child = undefined;
    }
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/** One PUT through the JSON gateway; resolves to the HTTP status. */
/** The JSON gateway's Put of one key: path and body (shared with the load generator's own client). */
export function etcdPutRequest(key: string, value: string): { path: string; body: string } {
  return { path: "/v3/kv/put", body: JSON.stringify({ key: b64(key), value: b64(value) }) };
}

/** The JSON gateway's Range of one key (linearizable: etcd's default). */
export function etcdRangeRequest(key: string): { path: string; body: string } {
  return { path: "/v3/kv/range", body: JSON.stringify({ key: b64(key) }) };
}

export async function etcdPut(
  url: string,
  key: string,
  value: string,
  signal?: AbortSignal,
): Promise<number> {
  const { path, body } = etcdPutRequest(key, value);
  const r = await fetch(`${url}${path}`, { method: "POST", body, signal });
  await r.arrayBuffer();
  return r.status;
}

/**
 * Many PUTs in one Txn through the JSON gateway (bulk loading; etcd allows 128 operations per
 * Txn by default, --max-txn-ops); resolves to the HTTP status.
 */
export async function etcdPutMany(
  url: string,
  pairs: Array<[string, string]>,
  signal?: AbortSignal,
): Promise<number> {
  const r = await fetch(`${url}/v3/kv/txn`, {
    method: "POST",
    body: JSON.stringify({
      success: pairs.map(([key, value]) => ({ requestPut: { key: b64(key), value: b64(value) } })),
    }),
    signal,
  });
  await r.arrayBuffer();
  return r.status;
}

/** The member's Raft index and applied index (maintenance Status), or undefined if it does not answer. */
export async function etcdRaftIndexes(
  url: string,
): Promise<{ raftIndex: number; appliedIndex: number } | undefined> {
  try {
    const r = await fetch(`${url}/v3/maintenance/status`, {
      method: "POST",
      body: "{}",
      signal: AbortSignal.timeout(1000),
    });
    if (!r.ok) {
      await r.body?.cancel();
      return undefined;
    }
    const s = await r.json() as { raftIndex?: string; raftAppliedIndex?: string };
    return {
      raftIndex: Number(s.raftIndex ?? 0),
      appliedIndex: Number(s.raftAppliedIndex ?? s.raftIndex ?? 0),
    };
  } catch {
    return undefined;
  }
}

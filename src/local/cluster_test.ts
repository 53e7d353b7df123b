/**
 * Multi-process tests: real raft-kv server processes on 127.0.0.1, real TCP, real fsync,
 * supervised in-process by LocalSupervisor. Every test stops every process it started and
 * checks by pid that none is left.
 */
import assert from "node:assert/strict";
import { KvClient } from "../client/mod.ts";
import { type CreateClusterOptions, LocalSupervisor } from "./supervisor.ts";
import { isAlive } from "./state.ts";
import { sleep, until } from "./test_support.ts";
import { scanSegment } from "../storage/segment_scan.ts";

interface Cluster {
  sup: LocalSupervisor;
  client: KvClient;
  stateDir: string;
  status(id: number): Promise<Record<string, unknown>>;
  leader(): Promise<number>;
  urlOf(id: number): string;
}

async function withCluster(
  options: Partial<CreateClusterOptions>,
  fn: (c: Cluster) => Promise<void>,
): Promise<void> {
  const stateDir = await Deno.makeTempDir({ prefix: "raftkv-cluster-test-" });
  const sup = await LocalSupervisor.create(stateDir, {
    replicas: 3,
    safetyMode: "safe",
    ports: "auto",
    faultInjection: false,
    ...options,
  }, () => {});
  sup.start();
  const seen = new Set<number>();
  const urlOf = (id: number) => sup.state.nodes.find((n) => n.id === id)!.clientUrl;
  const status = async (id: number) =>
    await (await fetch(`${urlOf(id)}/status`, { signal: AbortSignal.timeout(1000) })).json() as Record<
      string,
      unknown
    >;
  const cluster: Cluster = {
    sup,
    stateDir,
    client: undefined as unknown as KvClient,
    status,
    urlOf,
    leader: () =>
      until("a leader", async () => {
        for (const n of sup.state.nodes) {
          const s = await status(n.id).catch(() => undefined);
          if (s?.role === "leader") return n.id;
        }
      }),
  };
  try {
    await until("the cluster to settle", () => sup.settled() || undefined, 60_000);
    cluster.client = new KvClient({ endpoints: sup.state.nodes.map((n) => n.clientUrl) });
    for (const pid of sup.pids()) seen.add(pid);
    await fn(cluster);
  } finally {
    for (const pid of sup.pids()) seen.add(pid);
    await cluster.client?.close();
    await sup.stop();
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
  const left = [...seen].filter((pid) => isAlive(pid));
  assert.deepEqual(left, [], `processes left running: ${left}`);
}

Deno.test("a 3-node cluster replicates: write on one node, read on every node", async () => {
  await withCluster({}, async (c) => {
    const [a, b, cc] = c.sup.state.nodes;
    const put = await c.client.put("k", "v1", { node: a.clientUrl });
    for (const n of [a, b, cc]) {
      assert.equal(
        (await c.client.get("k", { node: n.clientUrl })).value,
        "v1",
        `linearizable read on node ${n.id}`,
      );
    }
    // A follower's local (stale) copy catches up within moments.
    for (const n of [b, cc]) {
      await until(`node ${n.id} to apply index ${put.index}`, async () => {
        const got = await c.client.get("k", { node: n.clientUrl, stale: true }).catch(() => undefined);
        return got?.value === "v1" || undefined;
      });
    }
  });
});

Deno.test("SIGKILL of the leader elects a new one and loses no acknowledged write", async () => {
  await withCluster({}, async (c) => {
    const acknowledged = new Map<string, string>();
    let writes = 0;
    let writing = true;
    const writer = (async () => {
      const client = new KvClient({ endpoints: c.sup.state.nodes.map((n) => n.clientUrl) });
      for (let i = 0; writing; i++) {
        const key = `k${i % 20}`;
        try {
          await client.put(key, `v${i}`);
          acknowledged.set(key, `v${i}`);
          writes++;
        } catch {
          // unknown outcome: not acknowledged, so not checked
        }
      }
      await client.close();
    })();
    await until("some writes", () => writes >= 10 || undefined);
    const old = await c.leader();
    await c.sup.command(old, "kill");
    const next = await until("a new leader", async () => {
      const l = await c.leader();
      return l !== old ? l : undefined;
    });
    assert.notEqual(next, old);
    const before = writes;
    await until("writes to continue after the failover", () => writes > before || undefined);
    await sleep(300);
    writing = false;
    await writer;
    for (const [key, value] of acknowledged) {
      assert.equal((await c.client.get(key)).value, value, `acknowledged ${key}=${value}`);
    }
    // The killed node was restarted by the supervisor and caught up.
    const lastIndex = (await c.status(next)).commit as number;
    await until(
      `node ${old} to catch up`,
      async () => ((await c.status(old)).applied as number) >= lastIndex || undefined,
    );
  });
});

Deno.test("a paused node catches up by log, and after compaction by snapshot", async () => {
  await withCluster({ snapshotEntries: 100, retainEntries: 10, faultInjection: true }, async (c) => {
    const leader = await c.leader();
    const follower = c.sup.state.nodes.find((n) => n.id !== leader)!.id;
    await c.sup.command(follower, "pause");
    for (let i = 0; i < 30; i++) await c.client.put(`a${i}`, `x${i}`);
    await c.sup.command(follower, "resume");
    await until("catch-up by log", async () => {
      const got = await c.client.get("a29", { node: c.urlOf(follower), stale: true }).catch(() => undefined);
      return got?.value === "x29" || undefined;
    });
    const installedBefore = Number(
      (await (await fetch(`${c.urlOf(follower)}/metrics`)).text()).match(
        /raftkv_snapshots_installed_total (\d+)/,
      )![1],
    );

    // Cut the follower off at the leader (pausing is not enough: the appends would wait in its
    // socket buffer), then write far more than retainEntries past a snapshot.
    const faults = (body: unknown) =>
      fetch(`${c.urlOf(leader)}/admin/faults`, {
        method: "POST",
        headers: { authorization: `Bearer ${c.sup.state.adminToken}` },
        body: JSON.stringify(body),
      }).then((r) => r.json());
    await faults({ action: "partition", peers: [follower] });
    await Promise.all(Array.from({ length: 8 }, async (_, w) => {
      const client = new KvClient({ endpoints: [c.urlOf(leader)] });
      for (let i = 0; i < 40; i++) await client.put(`b${w}-${i}`, `y${i}`);
      await client.close();
    }));
    const snap = await (await fetch(`${c.urlOf(leader)}/admin/snapshot`, {
      method: "POST",
      headers: { authorization: `Bearer ${c.sup.state.adminToken}` },
    })).json() as { index: number };
    assert.ok(snap.index > 300);
    await faults({ action: "heal" });
    await until("catch-up by snapshot", async () => {
      const got = await c.client.get("b7-39", { node: c.urlOf(follower), stale: true }).catch(() =>
        undefined
      );
      return got?.value === "y39" || undefined;
    });
    const installed = Number(
      (await (await fetch(`${c.urlOf(follower)}/metrics`)).text()).match(
        /raftkv_snapshots_installed_total (\d+)/,
      )![1],
    );
    assert.ok(
      installed > installedBefore,
      `the follower installed a snapshot (${installedBefore} -> ${installed})`,
    );
  });
});

async function lastSegment(dataDir: string): Promise<string> {
  const names: string[] = [];
  for await (const e of Deno.readDir(`${dataDir}/raft`)) {
    if (/^wal-\d+\.log$/.test(e.name)) names.push(e.name);
  }
  names.sort();
  return `${dataDir}/raft/${names.at(-1)}`;
}

Deno.test("a WAL with a torn tail recovers; a corrupted WAL refuses to start and says where", async () => {
  await withCluster({}, async (c) => {
    for (let i = 0; i < 20; i++) await c.client.put(`t${i}`, `w${i}`);
    const leader = await c.leader();
    const victim = c.sup.state.nodes.find((n) => n.id !== leader)!;

    // Torn tail: a crash in the middle of a write leaves half a record at the end.
    await c.sup.command(victim.id, "pause");
    const segment = await lastSegment(victim.dataDir);
    const tail = new Uint8Array(37).fill(0xab);
    const f = await Deno.open(segment, { append: true });
    await f.write(tail);
    f.close();
    await c.sup.command(victim.id, "restart");
    await c.client.put("after-torn-tail", "ok");
    await until("the torn-tail node to catch up", async () => {
      const got = await c.client.get("after-torn-tail", { node: victim.clientUrl, stale: true }).catch(() =>
        undefined
      );
      return got?.value === "ok" || undefined;
    });
    const log = await Deno.readTextFile(victim.logFile);
    assert.match(log, /torn|cut|truncat/i, "recovery says it cut the torn tail");

    // Corruption in the middle of the log: the node must refuse to start, naming file and offset.
    await c.sup.stop();
    const bytes = await Deno.readFile(segment);
    // A third of the way into the records (not into the zeroed runway after them, where damage is
    // indistinguishable from a torn last write and is cut like one).
    const records = scanSegment(bytes, segment, true).validBytes;
    bytes[Math.floor(records / 3)] ^= 0xff;
    await Deno.writeFile(segment, bytes);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../server/main.ts", import.meta.url).pathname,
        "--data-dir",
        victim.dataDir,
        "--cluster-id",
        c.sup.state.clusterId,
        "--listen-client",
        "127.0.0.1:0",
        "--listen-peer",
        "127.0.0.1:0",
      ],
      env: { RAFTKV_PEER_TOKEN: "x", RAFTKV_ADMIN_TOKEN: "y", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
      // A server that starts anyway would run forever: killed, it fails the assertions below.
      signal: AbortSignal.timeout(30_000),
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.notEqual(out.signal, "SIGTERM", `the server started on a corrupted WAL:\n${stderr}`);
    assert.notEqual(out.code, 0, "a corrupted WAL must not start");
    assert.ok(stderr.includes(segment.split("/").pop()!), `the error names the segment file:\n${stderr}`);
    assert.match(stderr, /at byte \d+/, "the error names the offset");
  });
});

Deno.test("garbage on the peer port and bad HTTP requests are refused; the node keeps serving", async () => {
  await withCluster({}, async (c) => {
    const node = c.sup.state.nodes[1];
    const [host, port] = node.peerAddress.split(":");
    for (
      const garbage of [
        crypto.getRandomValues(new Uint8Array(512)),
        new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3]),
      ]
    ) {
      const conn = await Deno.connect({ hostname: host, port: Number(port) });
      await conn.write(garbage).catch(() => {});
      await sleep(50);
      conn.close();
    }
    const bad: Array<[string, RequestInit, number]> = [
      ["/kv/k", { method: "POST", body: "{not json" }, 400],
      ["/kv/k", { method: "POST", body: JSON.stringify({ value: 42 }) }, 400],
      ["/kv/k", { method: "POST", body: JSON.stringify({ value: "x".repeat(2 << 20) }) }, 413],
      [`/kv/${"k".repeat(600)}`, { method: "GET" }, 400],
      ["/kv/a%00b", { method: "GET" }, 400],
      ["/kv/k?consistency=sometimes", { method: "GET" }, 400],
      ["/nothing/here", { method: "GET" }, 404],
      ["/admin/config", { method: "GET" }, 401],
      ["/kv/k", {
        method: "POST",
        body: JSON.stringify({ value: "v" }),
        headers: { "x-request-seq": "-3", "x-client-id": "c" },
      }, 400],
    ];
    for (const [path, init, status] of bad) {
      const r = await fetch(`${node.clientUrl}${path}`, init);
      const body = await r.json() as { error?: { code?: string; message?: string } };
      assert.equal(r.status, status, `${init.method} ${path.slice(0, 40)}: ${JSON.stringify(body)}`);
      assert.ok(body.error?.code && body.error.message, "errors are JSON with a code and a message");
    }
    const put = await c.client.put("still", "serving", { node: node.clientUrl });
    assert.equal((await c.client.get("still", { node: node.clientUrl })).value, "serving");
    assert.ok(put.index > 0);
  });
});

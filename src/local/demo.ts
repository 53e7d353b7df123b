/**
 * deno task demo: a guided tour of raft-kv on this machine, no Kubernetes needed. Brings up 3
 * nodes, writes and reads through different nodes, scales to 5 and back to 3 while a client
 * keeps writing, kills the leader and times the failover, checks that every acknowledged write
 * survived, prints a summary, and stops everything it started.
 */
import { fetchNodeStatus, KvClient } from "../client/mod.ts";
import { LocalSupervisor } from "./supervisor.ts";

const stateDir = new URL(`../../.data/demo-${Deno.pid}`, import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
const step = (title: string) => console.log(`\n== ${title}`);

let supervisor: LocalSupervisor | undefined;
let cleanedUp = false;
async function cleanUp(): Promise<void> {
  if (cleanedUp) return;
  cleanedUp = true;
  await supervisor?.stop();
  await Deno.remove(stateDir, { recursive: true }).catch(() => {});
}
Deno.addSignalListener("SIGINT", async () => {
  console.log("\ninterrupted: stopping the demo cluster");
  await cleanUp();
  Deno.exit(130);
});

/** Waits until the supervisor is idle at its desired size, printing the planner's steps. */
async function settle(sup: LocalSupervisor, timeoutMs = 60_000): Promise<number> {
  const t0 = performance.now();
  let last = "";
  while (performance.now() - t0 < timeoutMs) {
    const line = `   [${sup.state.reconfig.phase}] ${sup.state.reconfig.message}`;
    if (line !== last) console.log(line);
    last = line;
    if (sup.settled()) return performance.now() - t0;
    await sleep(50);
  }
  throw new Error(`the cluster did not settle within ${seconds(timeoutMs)}; see the logs in ${stateDir}`);
}

async function leaderOf(sup: LocalSupervisor): Promise<number | undefined> {
  for (const n of sup.state.nodes) {
    const s = await fetchNodeStatus<{ role: string; id: number }>(n.clientUrl, 300);
    if (s?.role === "leader") return s.id;
  }
  return undefined;
}

/** A client that writes demo-0, demo-1, ... in a loop and remembers what was acknowledged. */
class BackgroundWriter {
  acknowledged = new Map<string, string>();
  writes = 0;
  failures = 0;
  private running = true;
  private readonly done: Promise<void>;

  constructor(private readonly client: KvClient) {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    for (let i = 0; this.running; i++) {
      const key = `demo-${i % 50}`;
      const value = `v${i}`;
      try {
        await this.client.put(key, value);
        this.acknowledged.set(key, value);
        this.writes++;
      } catch {
        this.failures++; // the client already retried; the write may or may not have applied
        await sleep(50);
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

async function main(): Promise<void> {
  console.log(
    "raft-kv demo: a local cluster of real processes on 127.0.0.1 (state in .data/, removed at the end)",
  );
  step(
    "1. start 3 nodes (node 1 bootstraps; 2 and 3 join as learners and are promoted through joint consensus)",
  );
  const sup = supervisor = await LocalSupervisor.create(stateDir, {
    replicas: 3,
    safetyMode: "safe",
    ports: "auto",
    faultInjection: false,
  }, () => {});
  sup.start();
  const upMs = await settle(sup);
  for (const n of sup.state.nodes) console.log(`   node ${n.id}: ${n.clientUrl}`);
  console.log(`   cluster up in ${seconds(upMs)}`);

  const endpoints = () => sup.state.nodes.map((n) => n.clientUrl);
  const client = new KvClient({ endpoints: endpoints() });
  step("2. write through one node, read through the others");
  const [a, b, c] = sup.state.nodes;
  const put = await client.put("greeting", "hello, raft", { node: a.clientUrl });
  console.log(`   PUT greeting via node ${a.id} -> index ${put.index} (served by node ${put.node})`);
  for (const n of [b, c]) {
    const got = await client.get("greeting", { node: n.clientUrl });
    console.log(`   GET greeting via node ${n.id} -> "${got.value}" (linearizable read through ReadIndex)`);
  }

  const writer = new BackgroundWriter(new KvClient({ endpoints: endpoints() }));
  step("3. scale 3 -> 5 while a client keeps writing");
  sup.setDesired(5);
  const upTo5 = await settle(sup);
  console.log(`   5 voters in ${seconds(upTo5)}; ${writer.writes} writes acknowledged so far`);

  step("4. scale 5 -> 3, still writing (leadership moves first if the leader is leaving)");
  sup.setDesired(3);
  const downTo3 = await settle(sup);
  console.log(`   3 voters in ${seconds(downTo3)}`);

  step("5. kill the leader (SIGKILL) and time the failover");
  const oldLeader = await leaderOf(sup);
  if (oldLeader === undefined) throw new Error("no leader to kill");
  const killedAt = performance.now();
  console.log(`   ${await sup.command(oldLeader, "kill")}`);
  let newLeader: number | undefined;
  while (performance.now() - killedAt < 15_000) {
    newLeader = await leaderOf(sup);
    if (newLeader !== undefined && newLeader !== oldLeader) break;
    await sleep(20);
  }
  const electedMs = performance.now() - killedAt;
  const probe = new KvClient({ endpoints: endpoints() });
  await probe.put("after-failover", "ok");
  const writableMs = performance.now() - killedAt;
  await probe.close();
  console.log(
    `   node ${newLeader} leads after ${Math.round(electedMs)} ms; writes accepted again after ${
      Math.round(writableMs)
    } ms`,
  );
  await settle(sup);

  step("6. stop the writer and check every acknowledged write");
  await writer.stop();
  const reader = new KvClient({ endpoints: endpoints() });
  let lost = 0;
  for (const [key, value] of writer.acknowledged) {
    const got = await reader.get(key);
    if (got.value !== value) {
      lost++;
      console.log(`   LOST: ${key} should be ${value}, is ${got.value}`);
    }
  }
  await reader.close();
  await client.close();
  console.log(
    `   the latest acknowledged value of all ${writer.acknowledged.size} keys read back: ${lost} lost`,
  );

  step("summary");
  console.log(`   cluster up (1 -> 3 voters)   ${seconds(upMs)}`);
  console.log(`   scale 3 -> 5                 ${seconds(upTo5)}`);
  console.log(`   scale 5 -> 3                 ${seconds(downTo3)}`);
  console.log(
    `   failover after leader kill   ${Math.round(electedMs)} ms to a new leader, ${
      Math.round(writableMs)
    } ms to writes`,
  );
  console.log(
    `   background writes            ${writer.writes} acknowledged (${writer.acknowledged.size} keys), ${writer.failures} gave up after retries`,
  );
  console.log(`   acknowledged writes lost     ${lost}`);
  if (lost) throw new Error(`${lost} acknowledged writes were lost`);
}

try {
  await main();
  await cleanUp();
  console.log(
    "\nall processes stopped, demo state removed. Next: deno task local up (a cluster that stays up), deno task kv",
  );
} catch (e) {
  console.error(`\ndemo failed: ${(e as Error).message}`);
  await cleanUp();
  Deno.exit(1);
}

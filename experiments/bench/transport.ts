/**
 * `deno task bench transport [--seconds N]`: two PeerTransports on 127.0.0.1 in this process.
 * Measures one-way throughput of 118-byte app messages (batched writes), ping-pong round trips
 * (1 and 16 in flight), and a 64 MiB chunked snapshot; writes bench-results/transport.json.
 */
import { barChart } from "../lib/charts.ts";
import { parseFlags, positiveNumber } from "../../src/cli/args.ts";
import { writeResults } from "../lib/results.ts";
import type { Message } from "../../src/raft/types.ts";
import { encodeFrames } from "../../src/transport/frame.ts";
import { PeerTransport } from "../../src/transport/mod.ts";

const MESSAGE_BYTES = 118;

interface Pair {
  a: PeerTransport;
  b: PeerTransport;
  /** Replaced by each measurement: what node 1 and node 2 do with a received message. */
  onA: (message: Message) => void;
  onB: (message: Message) => void;
}

async function startPair(): Promise<Pair> {
  const pair = {} as Pair;
  pair.onA = pair.onB = () => {};
  const common = { clusterId: "bench", token: "bench", listen: { hostname: "127.0.0.1", port: 0 } };
  const log = (level: string, line: string) => level !== "info" && console.error(`${level}: ${line}`);
  pair.a = new PeerTransport({ ...common, nodeId: 1, onMessage: (m) => pair.onA(m), log });
  pair.b = new PeerTransport({ ...common, nodeId: 2, onMessage: (m) => pair.onB(m), log });
  const [portA, portB] = [(await pair.a.start()).port, (await pair.b.start()).port];
  pair.a.setPeer(2, `127.0.0.1:${portB}`);
  pair.b.setPeer(1, `127.0.0.1:${portA}`);
  return pair;
}

/** An append with one entry, its payload sized so that the whole frame body is 118 bytes. */
function appMessage(from: number, to: number, index: number): Message {
  const entry = { term: 3, index, type: "normal" as const, data: new Uint8Array(0) };
  const message: Message = {
    type: "app",
    from,
    to,
    term: 3,
    logTerm: 3,
    index: index - 1,
    commit: index - 2,
    entries: [entry],
  };
  const bodyBytes = () => encodeFrames([message]).length - 4;
  entry.data = new Uint8Array(Math.max(0, MESSAGE_BYTES - bodyBytes()));
  return message;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** One-way: node 1 keeps `window` messages in flight, refilling in batches of `batch` as node 2 receives. */
async function oneWay(pair: Pair, seconds: number, batch: number, window: number) {
  const template = appMessage(1, 2, 100);
  const messages = Array.from({ length: batch }, () => template);
  let received = 0;
  let sent = 0;
  let measured: { received: number; elapsed: number } | undefined;
  const send = () => {
    sent += batch;
    pair.a.send(messages);
  };
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const drained = new Promise<void>((resolve) => {
    pair.onB = () => {
      received++;
      // After the deadline, stop refilling and wait for the rest so the next measurement starts clean.
      if (measured) {
        if (received === sent) resolve();
      } else if (received % batch === 0) {
        const now = performance.now();
        if (now < deadline) send();
        else {
          measured = { received, elapsed: (now - started) / 1000 };
          if (received === sent) resolve();
        }
      }
    };
  });
  const before = pair.a.stats().peers[2];
  for (let i = 0; i < window / batch; i++) send();
  await drained;
  const { elapsed } = measured!;
  const after = pair.a.stats().peers[2];
  const batches = after.sentBatches - before.sentBatches;
  pair.onB = () => {};
  return {
    messageBytes: MESSAGE_BYTES,
    sendBatch: batch,
    inFlight: window,
    seconds: round(elapsed, 2),
    messagesPerSecond: Math.round(measured!.received / elapsed),
    megabytesPerSecond: round((measured!.received * (MESSAGE_BYTES + 4)) / elapsed / 1e6, 1),
    averageMessagesPerWrite: round((after.sentMessages - before.sentMessages) / batches, 1),
    dropped: after.droppedMessages - before.droppedMessages,
  };
}

/** Ping-pong: node 2 answers each message; node 1 keeps `inFlight` requests outstanding. */
async function roundTrips(pair: Pair, seconds: number, inFlight: number) {
  const latencies: number[] = [];
  const sentAt = new Map<number, number>();
  let next = 0;
  let done = false;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const ping = () => {
    const id = next++;
    sentAt.set(id, performance.now());
    pair.a.send([{ type: "heartbeat", from: 1, to: 2, term: 1, commit: id }]);
  };
  const finished = new Promise<void>((resolve) => {
    pair.onB = (m) => pair.b.send([{ type: "heartbeatResp", from: 2, to: 1, term: 1, commit: m.commit }]);
    pair.onA = (m) => {
      const now = performance.now();
      latencies.push(now - sentAt.get(m.commit!)!);
      sentAt.delete(m.commit!);
      if (done) return;
      if (now >= deadline) {
        done = true;
        resolve();
      } else ping();
    };
  });
  for (let i = 0; i < inFlight; i++) ping();
  await finished;
  await new Promise((resolve) => setTimeout(resolve, 50)); // let the last answers in
  const elapsed = (performance.now() - started) / 1000;
  pair.onA = pair.onB = () => {};
  latencies.sort((x, y) => x - y);
  return {
    inFlight,
    seconds: round(elapsed, 2),
    roundTripsPerSecond: Math.round(latencies.length / elapsed),
    p50Micros: Math.round(percentile(latencies, 0.5) * 1000),
    p99Micros: Math.round(percentile(latencies, 0.99) * 1000),
  };
}

/** One snapshot of `megabytes` MiB from node 1 to node 2, chunked: time until the sender's ack. */
async function snapshotTransfer(megabytes: number) {
  const data = new Uint8Array(megabytes * 1024 * 1024).map((_, i) => i * 31);
  let outcome: (ok: boolean) => void = () => {};
  const common = { clusterId: "bench", token: "bench", listen: { hostname: "127.0.0.1", port: 0 } };
  const a = new PeerTransport({
    ...common,
    nodeId: 1,
    onMessage: () => {},
    onSnapshotSent: (_, ok) => outcome(ok),
  });
  const b = new PeerTransport({ ...common, nodeId: 2, onMessage: () => {} });
  try {
    await a.start();
    a.setPeer(2, `127.0.0.1:${(await b.start()).port}`);
    const started = performance.now();
    const ok = await new Promise<boolean>((resolve) => {
      outcome = resolve;
      a.send([{
        type: "snap",
        from: 1,
        to: 2,
        term: 1,
        snapshot: {
          meta: {
            index: 1,
            term: 1,
            conf: { voters: [1, 2], votersOutgoing: [], learners: [], learnersNext: [] },
          },
          data,
        },
      }]);
    });
    const elapsed = (performance.now() - started) / 1000;
    return {
      megabytes,
      ok,
      chunks: a.stats().peers[2].snapshotChunksSent,
      seconds: round(elapsed, 3),
      megabytesPerSecond: round(data.length / elapsed / 1e6, 1),
    };
  } finally {
    await a.close();
    await b.close();
  }
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

function parseSeconds(args: string[]): number {
  const { values } = parseFlags(args, { seconds: { type: "string", default: "5" } });
  return positiveNumber("seconds", values.seconds!);
}

export async function run(args: string[]): Promise<void> {
  const seconds = parseSeconds(args);
  const pair = await startPair();
  const results: Record<string, unknown> = {};
  try {
    console.log(`transport bench: ${seconds} s per measurement, both nodes in this process on 127.0.0.1`);
    await oneWay(pair, 0.5, 256, 2048); // warm-up: JIT, connections
    results.oneWay = [];
    for (const [batch, window] of [[1, 64], [64, 1024], [256, 4096]]) {
      const result = await oneWay(pair, seconds, batch, window);
      (results.oneWay as unknown[]).push(result);
      console.log("one-way", JSON.stringify(result));
    }
    results.roundTrips = [];
    for (const inFlight of [1, 16]) {
      const result = await roundTrips(pair, seconds, inFlight);
      (results.roundTrips as unknown[]).push(result);
      console.log("round trips", JSON.stringify(result));
    }
  } finally {
    await pair.a.close();
    await pair.b.close();
  }
  results.snapshot = await snapshotTransfer(64);
  console.log("snapshot", JSON.stringify(results.snapshot));
  const bars = [
    ...(results.oneWay as { sendBatch: number; messagesPerSecond: number }[]).map((r) => ({
      group: `one-way, batch ${r.sendBatch}`,
      value: r.messagesPerSecond,
    })),
    ...(results.roundTrips as { inFlight: number; roundTripsPerSecond: number }[]).map((r) => ({
      group: `round trips, ${r.inFlight} in flight`,
      value: r.roundTripsPerSecond,
    })),
  ];
  await writeResults(
    "transport",
    {
      note: "sender and receiver share one process and event loop; shared 2-core machine, treat as +-25 %",
      ...results,
    },
    await barChart({
      title: "PeerTransport on 127.0.0.1",
      subtitle: "msgpack frames over loopback TCP, sender and receiver in one process",
      yLabel: "messages or round trips per second",
      logY: true,
      bars: bars.map((b) => ({ ...b, system: "raft-kv" })),
    }),
  );
}

if (import.meta.main) await run(Deno.args);

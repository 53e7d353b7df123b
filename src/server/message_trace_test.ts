/**
 * GET /trace on a real node (one bootstrapped member, in-process, real storage and transport),
 * the sampler, and the transport's observer hook between two real transports.
 */
import assert from "node:assert/strict";
import { parseConfig } from "./config.ts";
import { NodeHolder } from "./node_holder.ts";
import { createApp } from "./app.ts";
import { singleNodeArgs } from "./test_server.ts";
import { MessageSampler, summarize } from "./message_trace.ts";
import { connectAll, heartbeat, startNode, waitFor } from "../transport/test_nodes.ts";
import type { Message } from "../raft/mod.ts";
import type { FaultVerdict } from "../transport/mod.ts";

async function readEvents(body: ReadableStream<Uint8Array>, count: number) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const events: Array<{ event: string; data: Record<string, unknown> }> = [];
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    let end;
    while ((end = text.indexOf("\n\n")) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? "";
      events.push({ event, data: JSON.parse(/^data: (.*)$/m.exec(block)![1]) });
    }
  }
  return { events, reader };
}

Deno.test("GET /trace streams the node's state (vote, log tail) and ends when the node stops", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "raftkv-trace-test-" });
  const config = parseConfig([...singleNodeArgs(dataDir), "--tick-ms", "10"], () => undefined);
  const holder = new NodeHolder(config, () => {}, (e) => {
    throw e;
  });
  await holder.initialize();
  const app = createApp(holder);
  try {
    const bad = await app.request("/trace?rate=lots");
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error.message, /"rate" must be an integer from 0 to 1000/);

    const node = holder.node!;
    for (let i = 0; i < 100 && !node.isLeader; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(node.isLeader, "a single bootstrapped member leads");
    const response = await app.request("/trace?tail=5");
    assert.equal(response.headers.get("content-type"), "text/event-stream");
    const { events, reader } = await readEvents(response.body!, 1);
    const state = events[0];
    assert.equal(state.event, "state");
    assert.equal(state.data.id, 1);
    assert.equal(state.data.vote, 1);
    const tail = state.data.logTail as Array<{ index: number; kind: string }>;
    assert.ok(tail.length >= 1 && tail.length <= 5);
    assert.equal(tail.at(-1)!.kind, "noop", "a new leader's first entry is its no-op");

    await node.stop();
    // The stream closes by itself within a flush, so that a stopping server is not held open.
    const deadline = performance.now() + 2000;
    let done = false;
    while (!done && performance.now() < deadline) done = (await reader.read()).done;
    assert.ok(done, "the stream ended after the node stopped");
  } finally {
    await holder.node?.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("the sampler keeps every vote and rejection, and lets routine traffic through at its rate", () => {
  const sampler = new MessageSampler(50, 100); // 5 routine messages per 100 ms
  const hb: Message = { type: "heartbeat", from: 1, to: 2, term: 3, commit: 5 };
  const keptOf = (n: number) => Array.from({ length: n }, () => sampler.keep(hb)).filter(Boolean).length;
  assert.equal(keptOf(1000), 5, "a burst of 1000 heartbeats: 5 kept");
  sampler.refill();
  assert.equal(keptOf(1000), 5, "and 5 more after a refill");
  assert.equal(keptOf(1000), 0);
  for (const type of ["vote", "preVote", "voteResp", "timeoutNow", "readIndex", "snap"] as const) {
    assert.ok(sampler.keep({ type, from: 1, to: 2, term: 3 }), type);
  }
  assert.ok(sampler.keep({ type: "appResp", from: 2, to: 1, term: 3, reject: true }), "a rejection");
  assert.ok(sampler.keep({ ...hb, context: "1:7" }), "a heartbeat that carries a read");
  assert.equal(new MessageSampler(0).keep(hb), false, "rate 0: no routine traffic");

  const verdict: FaultVerdict = { drop: true, reason: "partition" };
  assert.deepEqual(
    summarize(
      { type: "app", from: 1, to: 2, term: 3, index: 4, logTerm: 2, commit: 4, entries: [] },
      verdict,
      99,
    ),
    { at: 99, type: "app", from: 1, to: 2, term: 3, index: 4, logTerm: 2, commit: 4, dropped: true },
  );
});

Deno.test("a transport observer sees each message sent and what faults do to it; one that throws is removed", async () => {
  const a = await startNode(1, { faultInjection: true });
  const b = await startNode(2);
  try {
    connectAll([a, b]);
    const seen: Array<[string, boolean]> = [];
    const unobserve = a.transport.observe((m, verdict) => seen.push([m.type, verdict.drop]));
    let thrown = 0;
    a.transport.observe(() => {
      thrown++;
      throw new Error("observer bug");
    });
    a.transport.send([heartbeat(1, 2, 1)]);
    a.transport.faults.partition([2]);
    a.transport.send([heartbeat(1, 2, 1)]);
    a.transport.faults.heal();
    unobserve();
    a.transport.send([heartbeat(1, 2, 1)]);
    assert.deepEqual(seen, [["heartbeat", false], ["heartbeat", true]]);
    assert.equal(thrown, 1, "the throwing observer was removed after its first throw");
    assert.ok(a.logs.some((l) => /a message observer threw and was removed/.test(l)));
    await waitFor(() => b.received.length === 2, () => `received ${b.received.length}`);
  } finally {
    await a.transport.close();
    await b.transport.close();
  }
});

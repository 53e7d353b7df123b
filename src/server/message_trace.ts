/**
 * GET /trace: a server-sent event stream for the live view (`deno task ui`). Nothing is traced
 * unless a client is subscribed: subscribing adds an observer to the transport's send path,
 * disconnecting removes it. The observer only appends a small summary to a bounded buffer; a
 * timer flushes the buffer every 100 ms, and when the client reads too slowly the batch is
 * dropped and counted, so the node never waits on a viewer.
 *
 *   event: messages   data: {"messages": [TracedMessage...], "skipped": N}
 *   event: state      data: {"vote", "logTail", "readRound", "readRounds", "faults"}   (every 500 ms)
 *
 * Sampling: election, transfer, snapshot and ReadIndex traffic, rejections and heartbeats that
 * carry a read context are always kept; routine appends, heartbeats and their answers pass a
 * token bucket of `?rate=` per second (default 30). `?tail=` sets the log tail length (30).
 */
import { Hono } from "hono";
import type { Message } from "../raft/mod.ts";
import type { FaultVerdict } from "../transport/mod.ts";
import type { RaftKvNode } from "../kv/raft_kv_node.ts";
import type { NodeHolder } from "./node_holder.ts";
import { badRequest } from "./http_errors.ts";
import { logTail, readRound, transportOf } from "./node_introspection.ts";

export interface TracedMessage {
  /** Wall-clock milliseconds when the node handed the message to its transport. */
  at: number;
  type: Message["type"];
  from: number;
  to: number;
  term: number;
  index?: number;
  logTerm?: number;
  commit?: number;
  /** Number of entries carried, and the first one's index. */
  entries?: number;
  reject?: boolean;
  context?: string;
  /** An injected fault cut it, or holds it back this long. */
  dropped?: boolean;
  delayMs?: number;
}

const FLUSH_MS = 100;
const STATE_EVERY_FLUSHES = 5;
/** Summaries held between two flushes at most; beyond that they are counted as skipped. */
const MAX_BATCH = 400;
const ROUTINE = new Set<Message["type"]>(["app", "appResp", "heartbeat", "heartbeatResp"]);

export function summarize(m: Message, verdict: FaultVerdict, at: number): TracedMessage {
  const t: TracedMessage = { at, type: m.type, from: m.from, to: m.to, term: m.term };
  if (m.index !== undefined) t.index = m.index;
  if (m.logTerm !== undefined) t.logTerm = m.logTerm;
  if (m.commit !== undefined) t.commit = m.commit;
  if (m.entries?.length) t.entries = m.entries.length;
  if (m.reject) t.reject = true;
  if (m.context) t.context = m.context;
  if (m.type === "snap" && m.snapshot) t.index = m.snapshot.meta.index;
  if (verdict.drop) t.dropped = true;
  else if (verdict.delayMs > 0) t.delayMs = Math.round(verdict.delayMs);
  return t;
}

/**
 * Keeps every rare, meaningful message; lets routine traffic through at `ratePerSecond`. The
 * bucket is refilled by the flush timer, so that keep() costs a set lookup and no clock read.
 */
export class MessageSampler {
  #tokens: number;
  readonly #burst: number;

  constructor(ratePerSecond: number, refillEveryMs = FLUSH_MS) {
    this.#burst = ratePerSecond * refillEveryMs / 1000;
    this.#tokens = this.#burst;
  }

  keep(m: Message): boolean {
    const routine = ROUTINE.has(m.type) && !m.reject && !m.context;
    if (!routine) return true;
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }

  /** Called every `refillEveryMs`: a burst's worth of routine messages may pass again. */
  refill(): void {
    this.#tokens = Math.min(this.#burst + 1, this.#tokens + this.#burst);
  }
}

function intParam(raw: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw badRequest(`"${name}" must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

function stateOf(node: RaftKvNode, tail: number) {
  const s = node.status();
  return {
    id: s.id,
    term: s.term,
    vote: s.vote,
    logTail: logTail(node, tail),
    readRound: readRound(node),
    readRounds: node.metrics.readRounds,
    faults: node.faults.enabled ? node.faults.describe() : undefined,
  };
}

export function messageTraceApi(holder: NodeHolder): Hono {
  const app = new Hono();
  app.get("/trace", (c) => {
    const rate = intParam(c.req.query("rate"), "rate", 30, 0, 1000);
    const tail = intParam(c.req.query("tail"), "tail", 30, 1, 200);
    const node = holder.require();
    const encoder = new TextEncoder();
    let stop = () => {};
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const sampler = new MessageSampler(rate);
        let batch: TracedMessage[] = [];
        let skipped = 0;
        let flushes = 0;
        const unobserve = transportOf(node).observe((m, verdict) => {
          if (!sampler.keep(m) || batch.length >= MAX_BATCH) skipped++;
          else batch.push(summarize(m, verdict, Date.now()));
        });
        const send = (event: string, data: unknown) =>
          controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
        const flush = () => {
          if (node.isStopped) {
            // A stopping server waits for open responses: end the stream so that it can exit.
            stop();
            controller.close();
            return;
          }
          const slow = (controller.desiredSize ?? 1) <= 0;
          if (slow) skipped += batch.length;
          else if (batch.length || skipped) {
            send("messages", { messages: batch, skipped });
            skipped = 0;
          }
          batch = [];
          sampler.refill();
          if (!slow && flushes++ % STATE_EVERY_FLUSHES === 0) send("state", stateOf(node, tail));
        };
        const timer = setInterval(flush, FLUSH_MS);
        stop = () => {
          unobserve();
          clearInterval(timer);
        };
        flush();
      },
      cancel() {
        stop();
      },
    }, { highWaterMark: 32 * 1024, size: (chunk) => chunk.byteLength });
    c.req.raw.signal.addEventListener("abort", () => stop());
    return new Response(body, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
    });
  });
  return app;
}

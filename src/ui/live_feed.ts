/**
 * Gathers what the page shows of a running cluster and pushes it to every open page: each
 * member's GET /status every 500 ms, and, while at least one page is subscribed, each member's
 * GET /trace stream (sampled messages, vote, log tail, ReadIndex round). With no page open
 * nothing is polled and no node traces anything.
 */
import type {
  ClusterSnapshot,
  MemberView,
  MessageBatch,
  NodeStatusView,
  TraceStateView,
} from "./view_types.ts";
import { encodeSse, readSse } from "./sse.ts";

/** Where the members are, and what else the source knows (planner, processes, errors). */
export interface ClusterSource {
  readonly kind: "local" | "kube";
  describe(): Promise<Omit<ClusterSnapshot, "at" | "source" | "leader" | "leaders">>;
}

const POLL_MS = 500;
const STATUS_TIMEOUT_MS = 400;
const RECONNECT_MS = 1000;

interface TraceLink {
  url: string;
  abort: AbortController;
}

export class LiveFeed {
  #pages = new Set<ReadableStreamDefaultController<Uint8Array>>();
  #traces = new Map<string, TraceLink>();
  #traceState = new Map<string, { state: TraceStateView; at: number }>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #latest: ClusterSnapshot | undefined;
  #polling = false;
  #closed = false;

  constructor(private readonly source: ClusterSource, private readonly traceRate = 30) {}

  /** One fresh snapshot (GET /api/snapshot), whether or not a page is subscribed. */
  async snapshot(): Promise<ClusterSnapshot> {
    const described = await this.source.describe();
    const members = await Promise.all(described.members.map(async (m): Promise<MemberView> => {
      const trace = this.#traceState.get(m.clientUrl);
      return {
        ...m,
        status: await fetchStatus(m.clientUrl),
        ...(trace ? { trace: trace.state, traceAt: trace.at } : {}),
      };
    }));
    const leaders = members
      .filter((m) => m.status?.role === "leader")
      .map((m) => ({ id: m.id, term: m.status!.term ?? 0 }))
      .sort((a, b) => b.term - a.term);
    this.#latest = {
      ...described,
      at: Date.now(),
      source: this.source.kind,
      members,
      leaders,
      leader: leaders[0]?.id,
    };
    return this.#latest;
  }

  /** A page's event stream: `cluster` snapshots and `messages` batches until it disconnects. */
  subscribe(): ReadableStream<Uint8Array> {
    let self: ReadableStreamDefaultController<Uint8Array>;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        self = controller;
        this.#pages.add(controller);
        if (this.#latest) controller.enqueue(encodeSse("cluster", this.#latest));
        this.#schedule(0);
      },
      cancel: () => {
        this.#pages.delete(self);
        if (this.#pages.size === 0) this.#stopTraces();
      },
    });
  }

  get subscribers(): number {
    return this.#pages.size;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#stopTraces();
    for (const page of this.#pages) {
      try {
        page.close();
      } catch { /* already closed */ }
    }
    this.#pages.clear();
  }

  #schedule(ms: number): void {
    if (this.#closed || this.#polling) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#poll(), ms);
  }

  async #poll(): Promise<void> {
    if (this.#pages.size === 0 || this.#closed) return;
    this.#polling = true;
    try {
      const snap = await this.snapshot();
      this.#broadcast("cluster", snap);
      this.#syncTraces(snap.members.map((m) => m.clientUrl));
    } catch (e) {
      this.#broadcast(
        "cluster",
        {
          at: Date.now(),
          source: this.source.kind,
          faultInjection: false,
          members: [],
          leaders: [],
          error: (e as Error).message,
        } satisfies ClusterSnapshot,
      );
    } finally {
      this.#polling = false;
    }
    this.#schedule(POLL_MS);
  }

  #broadcast(event: string, data: unknown): void {
    const bytes = encodeSse(event, data);
    for (const page of this.#pages) {
      // A page that does not read keeps nothing queued beyond a little: it misses frames instead.
      if ((page.desiredSize ?? 1) > -256 * 1024) page.enqueue(bytes);
    }
  }

  #syncTraces(urls: string[]): void {
    for (const [url, link] of this.#traces) {
      if (!urls.includes(url)) {
        link.abort.abort();
        this.#traces.delete(url);
        this.#traceState.delete(url);
      }
    }
    for (const url of urls) {
      if (!this.#traces.has(url)) {
        const link = { url, abort: new AbortController() };
        this.#traces.set(url, link);
        void this.#follow(link);
      }
    }
  }

  /** Follows one node's trace, reconnecting after it ends (killed, restarted) while still wanted. */
  async #follow(link: TraceLink): Promise<void> {
    while (!link.abort.signal.aborted) {
      try {
        const r = await fetch(`${link.url}/trace?rate=${this.traceRate}`, { signal: link.abort.signal });
        if (r.ok && r.body) {
          for await (const event of readSse(r.body)) {
            if (event.event === "state") {
              this.#traceState.set(link.url, { state: JSON.parse(event.data), at: Date.now() });
            } else if (event.event === "messages") {
              const { messages, skipped } = JSON.parse(event.data) as Omit<MessageBatch, "node">;
              const node = this.#traceState.get(link.url)?.state.id ?? 0;
              this.#broadcast("messages", { node, messages, skipped } satisfies MessageBatch);
            }
          }
        } else await r.body?.cancel();
      } catch {
        // down, paused or restarting: try again shortly
      }
      if (link.abort.signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  }

  #stopTraces(): void {
    for (const link of this.#traces.values()) link.abort.abort();
    this.#traces.clear();
    this.#traceState.clear();
  }
}

async function fetchStatus(url: string): Promise<NodeStatusView | undefined> {
  try {
    const r = await fetch(`${url}/status`, { signal: AbortSignal.timeout(STATUS_TIMEOUT_MS) });
    if (!r.ok) {
      await r.body?.cancel();
      return undefined;
    }
    return await r.json() as NodeStatusView;
  } catch {
    return undefined;
  }
}

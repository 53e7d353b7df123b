/**
 * What a client knows about where the nodes are: the endpoints it was given, the members' client
 * URLs learned from `/status`, the leader named by the last answer, and which URLs failed lately.
 * It orders the URLs to try: leader first, then the last node that answered, then the rest.
 */
import { KvError } from "./errors.ts";
import type { MemberAddress } from "./wire_types.ts";

/** An endpoint whose node id is known up front (from a local cluster's state file, say). */
export interface NodeEndpoint {
  id: number;
  url: string;
}

export type EndpointSpec = string | NodeEndpoint;

/** `http://host:port` with no trailing slash; refuses anything that is not an http(s) URL. */
export function normalizeEndpoint(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new KvError(
      "bad_endpoint",
      0,
      `endpoint "${raw}" is not a URL; give client URLs such as http://127.0.0.1:8001`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new KvError(
      "bad_endpoint",
      0,
      `endpoint "${raw}" is not an http(s) URL; give client URLs such as http://127.0.0.1:8001`,
    );
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
}

export class EndpointBook {
  readonly #seeds: string[] = [];
  readonly #urlById = new Map<number, string>();
  #leader = 0;
  #lastAnswered: string | undefined;
  readonly #downUntil = new Map<string, number>();

  constructor(specs: readonly EndpointSpec[], readonly downForMs = 2_000) {
    for (const spec of specs) {
      const url = normalizeEndpoint(typeof spec === "string" ? spec : spec.url);
      if (!this.#seeds.includes(url)) this.#seeds.push(url);
      if (typeof spec !== "string") this.#urlById.set(spec.id, url);
    }
    if (this.#seeds.length === 0) {
      throw new KvError("bad_endpoint", 0, "no endpoints given; pass the client URL of at least one node");
    }
  }

  /** The leader's id as last reported by a node, 0 when unknown. */
  get leader(): number {
    return this.#leader;
  }

  leaderUrl(): string | undefined {
    return this.#leader === 0 ? undefined : this.#urlById.get(this.#leader);
  }

  urlOf(node: number): string | undefined {
    return this.#urlById.get(node);
  }

  /** The node id behind a URL, when a member list or the endpoint list says so. */
  nodeOf(url: string): number | undefined {
    for (const [id, known] of this.#urlById) if (known === url) return id;
    return undefined;
  }

  knownNodes(): number[] {
    return [...this.#urlById.keys()].sort((a, b) => a - b);
  }

  /** Records what an answer's `X-Raft-Leader` header said, and that `url` is alive. */
  noteAnswer(url: string, leader: number | undefined): void {
    this.#lastAnswered = url;
    this.#downUntil.delete(url);
    if (leader !== undefined) this.#leader = leader;
  }

  /** Learns the members' client URLs from a `/status` answer. */
  learnMembers(members: Record<string, MemberAddress>): void {
    for (const [id, address] of Object.entries(members)) {
      const nodeId = Number(id);
      if (!Number.isSafeInteger(nodeId) || typeof address?.client !== "string") continue;
      try {
        this.#urlById.set(nodeId, normalizeEndpoint(address.client));
      } catch {
        // A member that advertises no usable client URL is simply not a candidate.
      }
    }
  }

  /** Whether the member list names this node's leader, so writes can go to it directly. */
  knowsLeaderUrl(): boolean {
    return this.#leader === 0 || this.#urlById.has(this.#leader);
  }

  /** A URL that refused or timed out is tried after the others for a while. */
  markDown(url: string, now: number): void {
    this.#downUntil.set(url, now + this.downForMs);
    if (this.#lastAnswered === url) this.#lastAnswered = undefined;
  }

  /** Every URL worth trying, best first; URLs that failed lately come last. */
  candidates(now: number): string[] {
    const ordered = new Set<string>();
    const leaderUrl = this.leaderUrl();
    if (leaderUrl) ordered.add(leaderUrl);
    if (this.#lastAnswered) ordered.add(this.#lastAnswered);
    for (const url of this.#seeds) ordered.add(url);
    for (const url of this.#urlById.values()) ordered.add(url);
    const isDown = (url: string) => (this.#downUntil.get(url) ?? 0) > now;
    const up = [...ordered].filter((url) => !isDown(url));
    const down = [...ordered].filter(isDown).sort((a, b) =>
      this.#downUntil.get(a)! - this.#downUntil.get(b)!
    );
    return [...up, ...down];
  }
}

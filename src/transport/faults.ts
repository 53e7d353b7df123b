/**
 * Fault injection for experiments and tests: drop, delay or cut traffic to and from chosen
 * peers. The transport asks `judge()` for every message in both directions, so a partition is
 * symmetric even when only one side of it is told. Off unless the transport was built with
 * `faultInjection: true`; every control throws otherwise, so production cannot enable it by accident.
 */
import type { NodeId } from "../raft/types.ts";
import { seededRandom } from "./random.ts";

export type FaultVerdict =
  | { drop: true; reason: "partition" | "drop" }
  | { drop: false; delayMs: number };

/** JSON-able state, as the admin API shows it. */
export interface FaultDescription {
  enabled: boolean;
  seed: number;
  isolated: boolean;
  /** The node's admin API refuses every call but its fault endpoint (as if its admin port were cut off). */
  adminRefused: boolean;
  partitioned: NodeId[];
  drop: { peer: NodeId; probability: number }[];
  delay: { peer: NodeId; ms: number; jitterMs: number }[];
  /** Messages affected so far, both directions: cut by a partition, dropped, delayed. */
  counters: { blocked: number; dropped: number; delayed: number };
}

const DELIVER_NOW: FaultVerdict = { drop: false, delayMs: 0 };

function checkPeer(id: NodeId): void {
  if (!Number.isSafeInteger(id) || id < 1) throw new RangeError(`peer id must be an integer >= 1, got ${id}`);
}

export class FaultInjector {
  readonly enabled: boolean;
  #seed: number;
  #random: () => number;
  #isolated = false;
  #adminRefused = false;
  #partitioned = new Set<NodeId>();
  #dropProbability = new Map<NodeId, number>();
  #delay = new Map<NodeId, { ms: number; jitterMs: number }>();
  #counters = { blocked: 0, dropped: 0, delayed: 0 };

  constructor(enabled: boolean, seed: number = Math.floor(Math.random() * 2 ** 32)) {
    this.enabled = enabled;
    this.#seed = seed >>> 0;
    this.#random = seededRandom(this.#seed);
  }

  /** Restarts the random sequence, so that the same schedule of messages meets the same faults. */
  seed(seed: number): void {
    this.#requireEnabled();
    this.#seed = seed >>> 0;
    this.#random = seededRandom(this.#seed);
  }

  /** Cuts traffic to and from `ids` (added to any peers already cut off). */
  partition(ids: readonly NodeId[]): void {
    this.#requireEnabled();
    ids.forEach(checkPeer);
    for (const id of ids) this.#partitioned.add(id);
  }

  /** Cuts traffic to and from every peer, including peers added later. */
  isolate(): void {
    this.#requireEnabled();
    this.#isolated = true;
  }

  /**
   * The admin API answers 503 to everything but the fault endpoint: an operator that cannot reach this
   * node to change it (the membership experiments hold the old minority back this way). Peer traffic is
   * not touched. Until heal().
   */
  refuseAdmin(): void {
    this.#requireEnabled();
    this.#adminRefused = true;
  }

  get adminRefused(): boolean {
    return this.#adminRefused;
  }

  /** Drops each message to or from `id` with `probability` (0 removes the rule). */
  drop(id: NodeId, probability: number): void {
    this.#requireEnabled();
    checkPeer(id);
    if (!(probability >= 0 && probability <= 1)) {
      throw new RangeError(`drop probability must be in [0, 1], got ${probability}`);
    }
    if (probability === 0) this.#dropProbability.delete(id);
    else this.#dropProbability.set(id, probability);
  }

  /** Holds each message to or from `id` for `ms` plus up to `jitterMs` (0 and 0 remove the rule). */
  delay(id: NodeId, ms: number, jitterMs = 0): void {
    this.#requireEnabled();
    checkPeer(id);
    if (!(ms >= 0 && jitterMs >= 0 && Number.isFinite(ms + jitterMs))) {
      throw new RangeError(`delay needs finite ms >= 0 and jitterMs >= 0, got ${ms} and ${jitterMs}`);
    }
    if (ms === 0 && jitterMs === 0) this.#delay.delete(id);
    else this.#delay.set(id, { ms, jitterMs });
  }

  /** Removes every fault; counters and the random sequence carry on. */
  heal(): void {
    this.#requireEnabled();
    this.#isolated = false;
    this.#adminRefused = false;
    this.#partitioned.clear();
    this.#dropProbability.clear();
    this.#delay.clear();
  }

  describe(): FaultDescription {
    return {
      enabled: this.enabled,
      seed: this.#seed,
      isolated: this.#isolated,
      adminRefused: this.#adminRefused,
      partitioned: [...this.#partitioned].sort((a, b) => a - b),
      drop: [...this.#dropProbability].map(([peer, probability]) => ({ peer, probability })),
      delay: [...this.#delay].map(([peer, { ms, jitterMs }]) => ({ peer, ms, jitterMs })),
      counters: { ...this.#counters },
    };
  }

  /** What happens to one message to or from `peer`. Cheap when no fault is set. */
  judge(peer: NodeId): FaultVerdict {
    if (!this.enabled) return DELIVER_NOW;
    if (this.#isolated || this.#partitioned.has(peer)) {
      this.#counters.blocked++;
      return { drop: true, reason: "partition" };
    }
    const probability = this.#dropProbability.get(peer);
    if (probability !== undefined && this.#random() < probability) {
      this.#counters.dropped++;
      return { drop: true, reason: "drop" };
    }
    const delay = this.#delay.get(peer);
    if (delay === undefined) return DELIVER_NOW;
    this.#counters.delayed++;
    return { drop: false, delayMs: delay.ms + this.#random() * delay.jitterMs };
  }

  #requireEnabled(): void {
    if (!this.enabled) {
      throw new Error(
        "fault injection is disabled on this node: start it with faultInjection enabled " +
          "(experiments and tests only, never in production)",
      );
    }
  }
}

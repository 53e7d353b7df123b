/**
 * The simulated network's conditions: every message gets a seeded delay (which also reorders),
 * and may be dropped or duplicated (SimCluster draws those); partitions block links, checked at
 * send and at delivery time (a cut link loses what was in flight too).
 */
import type { NodeId } from "../raft/mod.ts";

export interface NetworkConditions {
  minDelay: number;
  maxDelay: number;
  dropRate: number;
  duplicateRate: number;
}

export const CALM_NETWORK: NetworkConditions = { minDelay: 1, maxDelay: 5, dropRate: 0, duplicateRate: 0 };

export class SimNetwork {
  conditions: NetworkConditions;
  delivered = 0;
  dropped = 0;
  private blocked = new Set<string>();

  constructor(conditions: NetworkConditions = CALM_NETWORK) {
    this.conditions = { ...conditions };
  }

  private static link(from: NodeId, to: NodeId): string {
    return `${from}>${to}`;
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blocked.size > 0 && this.blocked.has(SimNetwork.link(from, to));
  }

  /** Blocks one direction of one link. */
  block(from: NodeId, to: NodeId): void {
    this.blocked.add(SimNetwork.link(from, to));
  }

  /** Cuts every link between different groups (nodes in no group are left alone). */
  partition(groups: NodeId[][]): void {
    for (let i = 0; i < groups.length; i++) {
      for (let j = 0; j < groups.length; j++) {
        if (i === j) continue;
        for (const a of groups[i]) for (const b of groups[j]) this.block(a, b);
      }
    }
  }

  /** Cuts `id` off from every node in `others`, both ways. */
  isolate(id: NodeId, others: Iterable<NodeId>): void {
    for (const o of others) {
      if (o === id) continue;
      this.block(id, o);
      this.block(o, id);
    }
  }

  heal(): void {
    this.blocked.clear();
  }

  describeBlocked(): string {
    return [...this.blocked].sort().join(" ");
  }
}

/**
 * ReadIndex bookkeeping on the leader (Raft thesis §6.4). A read request records the commit
 * index at arrival; once a quorum has answered a heartbeat sent after that, the leader knows it
 * was still the leader then, so any state that has applied up to that index is linearizable.
 * A quorum ack for a later request confirms every earlier one too, so requests are released in
 * order up to the acknowledged one.
 */
import type { NodeId } from "./types.ts";

export interface PendingRead {
  context: string;
  index: number;
  /** Who asked: the leader itself or a follower that forwarded the request. */
  from: NodeId;
  acks: Set<NodeId>;
}

export class ReadIndexQueue {
  private queue: PendingRead[] = [];
  private byContext = new Map<string, PendingRead>();

  add(context: string, index: number, from: NodeId, self: NodeId): void {
    if (this.byContext.has(context)) return; // a retried request is already waiting
    const read: PendingRead = { context, index, from, acks: new Set([self]) };
    this.queue.push(read);
    this.byContext.set(context, read);
  }

  /** Records a heartbeat answer; returns the acks for that request, if it is still pending. */
  recordAck(context: string, from: NodeId): ReadonlySet<NodeId> | undefined {
    const read = this.byContext.get(context);
    if (!read) return undefined;
    read.acks.add(from);
    return read.acks;
  }

  /** Removes and returns every request up to and including `context`, in arrival order. */
  releaseThrough(context: string): PendingRead[] {
    const at = this.queue.findIndex((r) => r.context === context);
    if (at < 0) return [];
    const released = this.queue.splice(0, at + 1);
    for (const r of released) this.byContext.delete(r.context);
    return released;
  }

  /** The newest pending request: heartbeats carry it so the answers acknowledge all of them. */
  lastContext(): string | undefined {
    return this.queue.length ? this.queue[this.queue.length - 1].context : undefined;
  }

  /** Drops everything (on losing leadership: the requests must be retried by their clients). */
  clear(): PendingRead[] {
    const dropped = this.queue;
    this.queue = [];
    this.byContext.clear();
    return dropped;
  }

  get length(): number {
    return this.queue.length;
  }
}

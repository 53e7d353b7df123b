/**
 * The replicated key-value state machine: the data, the client sessions that make writes
 * exactly-once, the member directory, and the index of the configuration in force. Everything
 * here is deterministic and changes only through apply*, in log order, on every node alike.
 */
import type { ConfState, Entry, NodeId, SafetyMode } from "../raft/mod.ts";
import { decodeCommand, type KvCommand, type KvResult } from "./commands.ts";
import { type Session, SessionTable } from "./sessions.ts";
import { decodeMembersContext, type MemberInfo, membersOf } from "./members.ts";
import { kvPackr } from "./codec.ts";

export type ApplyOutcome =
  | { kind: "applied"; result: KvResult }
  | { kind: "duplicate"; result: KvResult }
  | { kind: "stale"; lastSeq: number }
  | { kind: "invalid" };

interface SnapshotImage {
  format: 1;
  data: Array<[string, string]>;
  sessions: Array<[string, Session]>;
  members: Array<[NodeId, MemberInfo]>;
  confIndex: number;
  /** The safety mode the cluster was bootstrapped in (absent in images of older versions). */
  safetyMode?: SafetyMode;
}

export class KvStateMachine {
  readonly data = new Map<string, string>();
  sessions = new SessionTable();
  readonly members = new Map<NodeId, MemberInfo>();
  /** Log index of the configuration entry in force (or of the snapshot that carried it). */
  confIndex = 0;
  /** The safety mode the cluster was bootstrapped in: every member must run it. */
  safetyMode: SafetyMode | undefined;

  get(key: string): string | undefined {
    return this.data.get(key);
  }

  applyCommand(entry: Entry): ApplyOutcome {
    const command = entry.data && entry.data.length ? decodeCommand(entry.data) : undefined;
    if (!command) return { kind: "invalid" };
    if (command.client !== undefined && command.seq !== undefined) {
      const check = this.sessions.check(command.client, command.seq);
      if (check.kind === "duplicate") return { kind: "duplicate", result: check.result };
      if (check.kind === "stale") return { kind: "stale", lastSeq: check.lastSeq };
    }
    const result = this.execute(command, entry.index);
    if (command.client !== undefined && command.seq !== undefined) {
      this.sessions.record(command.client, command.seq, result);
    }
    return { kind: "applied", result };
  }

  private execute(c: KvCommand, index: number): KvResult {
    const current = this.data.get(c.key) ?? null;
    switch (c.op) {
      case "put":
        this.data.set(c.key, c.value);
        return { op: "put", index, prev: current };
      case "delete":
        this.data.delete(c.key);
        return { op: "delete", index, deleted: current !== null };
      case "cas":
        if (current !== c.prev) return { op: "cas", index, ok: false, current };
        this.data.set(c.key, c.value);
        return { op: "cas", index, ok: true, current: c.value };
    }
  }

  /** A configuration entry was applied: record the addresses it announces. */
  applyConfChange(entry: Entry): void {
    for (const [id, info] of decodeMembersContext(entry.change?.context)) this.members.set(id, info);
    this.confIndex = entry.index;
  }

  /** Forgets the addresses of nodes the configuration in force no longer mentions. */
  retainMembers(conf: ConfState): void {
    const current = membersOf(conf);
    for (const id of [...this.members.keys()]) if (!current.has(id)) this.members.delete(id);
  }

  /** The state of a brand-new cluster whose only member is `id`. */
  static bootstrap(id: NodeId, info: MemberInfo, safetyMode: SafetyMode): KvStateMachine {
    const sm = new KvStateMachine();
    sm.members.set(id, info);
    sm.confIndex = 1;
    sm.safetyMode = safetyMode;
    return sm;
  }

  /** The serialized image for a snapshot. */
  encode(): Uint8Array {
    const image: SnapshotImage = {
      format: 1,
      data: [...this.data],
      sessions: this.sessions.entries(),
      members: [...this.members],
      confIndex: this.confIndex,
    };
    if (this.safetyMode) image.safetyMode = this.safetyMode;
    return kvPackr.pack(image);
  }

  static decode(bytes: Uint8Array): KvStateMachine {
    const sm = new KvStateMachine();
    if (bytes.length === 0) return sm;
    const image = kvPackr.unpack(bytes) as SnapshotImage;
    if (image?.format !== 1) {
      throw new Error(`unsupported snapshot format ${String(image?.format)}: this raft-kv reads format 1`);
    }
    for (const [k, v] of image.data) sm.data.set(k, v);
    sm.sessions = SessionTable.from(image.sessions);
    for (const [id, info] of image.members) sm.members.set(Number(id), info);
    sm.confIndex = image.confIndex;
    sm.safetyMode = image.safetyMode;
    return sm;
  }
}

/**
 * The replicated key-value state machine: the data, the client sessions that make writes
 * exactly-once, the member directory, and the index of the configuration in force. Everything
 * here is deterministic and changes only through apply*, in log order, on every node alike.
 */
import type { ConfState, Entry, NodeId, SafetyMode } from "../raft/mod.ts";
import { decodeAnyCommand, type KvBatchCommand, type KvCommand, type KvResult } from "./commands.ts";
import { SessionTable } from "./sessions.ts";
import { decodeMembersContext, type MemberInfo, membersOf } from "./members.ts";
import { KvData } from "./kv_data.ts";
import {
  type DecodedHeader,
  type EncodedPairSink,
  ImageDecoder,
  ImageEncoder,
  ImageStreamDecoder,
} from "./snapshot_image.ts";

export type ApplyOutcome =
  | { kind: "applied"; result: KvResult }
  | { kind: "duplicate"; result: KvResult }
  | { kind: "stale"; lastSeq: number }
  | { kind: "invalid" };

export class KvStateMachine {
  /**
   * Each key's value and the log index of the write that set it (etcd's mod_revision; 0: unknown,
   * a key restored from an image of an older version). Values are kept off the V8 heap (see
   * value_arena.ts); frozen while a snapshot image is being encoded (see kv_data.ts).
   */
  readonly data = new KvData();
  sessions = new SessionTable();
  readonly members = new Map<NodeId, MemberInfo>();
  /** Log index of the configuration entry in force (or of the snapshot that carried it). */
  confIndex = 0;
  /** The safety mode the cluster was bootstrapped in: every member must run it. */
  safetyMode: SafetyMode | undefined;

  get(key: string): string | undefined {
    return this.data.get(key);
  }

  /** The log index of the write that set the key's current value, or undefined if it is absent. */
  modIndexOf(key: string): number | undefined {
    return this.data.modIndex(key);
  }

  applyCommand(entry: Entry): ApplyOutcome {
    const command = entry.data && entry.data.length ? decodeAnyCommand(entry.data) : undefined;
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

  private execute(c: KvCommand | KvBatchCommand, index: number): KvResult {
    if (c.op === "putMany") {
      for (let i = 0; i < c.keys.length; i++) {
        this.data.set(c.keys[i], c.values[i], index);
      }
      return { op: "putMany", index, count: c.keys.length };
    }
    const current = this.data.get(c.key) ?? null;
    switch (c.op) {
      case "put":
        this.data.set(c.key, c.value, index);
        return { op: "put", index, prev: current };
      case "delete":
        this.data.delete(c.key);
        return { op: "delete", index, deleted: current !== null };
      case "cas":
        if (current !== c.prev) return { op: "cas", index, ok: false, current };
        this.data.set(c.key, c.value, index);
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

  /**
   * Starts an image of the state as it is now: freezes the data (writes go on, in front of the
   * frozen generation) and returns an encoder that reads the frozen pairs a slice at a time.
   * Call `releaseImage()` when the encoder is done or abandoned.
   */
  beginImage(streaming = false): ImageEncoder {
    const frozen = this.data.freeze();
    return new ImageEncoder(
      {
        sessions: this.sessions.entries(),
        members: [...this.members],
        confIndex: this.confIndex,
        ...(this.safetyMode ? { safetyMode: this.safetyMode } : {}),
        pairs: frozen.size,
      },
      frozen.frames(),
      frozen.weight,
      streaming,
    );
  }

  /** Ends the image begun by beginImage(): folds the writes made meanwhile into the data. */
  releaseImage(): void {
    this.data.thaw();
  }

  /** The serialized image for a snapshot, in one synchronous call (small states, bootstrap, tests). */
  encode(): Uint8Array {
    const encoder = this.beginImage();
    try {
      encoder.step();
      return encoder.image();
    } finally {
      this.releaseImage();
    }
  }

  /**
   * Starts decoding an image into a new state machine; `decoder.step(budgetMs)` fills it a slice
   * at a time. Throws at once if the header is unreadable.
   */
  static beginDecode(bytes: Uint8Array): { sm: KvStateMachine; decoder: ImageDecoder | undefined } {
    const sm = new KvStateMachine();
    if (bytes.length === 0) return { sm, decoder: undefined };
    const decoder = new ImageDecoder(bytes, (k, v, mod) => sm.data.set(k, v, mod), sm.setEncoded);
    sm.takeHeader(decoder.header);
    return { sm, decoder };
  }

  /**
   * Starts decoding an image that arrives in pieces (a staged snapshot read from its file): push
   * pieces into the decoder and step it; `header()` completes the state machine once the
   * image's header frame has been decoded.
   */
  static beginStreamDecode(): { sm: KvStateMachine; decoder: ImageStreamDecoder; header(): void } {
    const sm = new KvStateMachine();
    const decoder = new ImageStreamDecoder((k, v, mod) => sm.data.set(k, v, mod), sm.setEncoded);
    return { sm, decoder, header: () => sm.takeHeader(decoder.header!) };
  }

  /** Decoding an image: a pair straight from a frame's bytes (snapshot_image.ts EncodedPairSink). */
  private readonly setEncoded: EncodedPairSink = (src, keyAt, keyBytes, valueAt, valueBytes, mod) =>
    this.data.setEncoded(src, keyAt, keyBytes, valueAt, valueBytes, mod);

  private takeHeader(h: DecodedHeader): void {
    this.sessions = SessionTable.from(h.sessions);
    for (const [id, info] of h.members) this.members.set(Number(id), info);
    this.confIndex = h.confIndex;
    this.safetyMode = h.safetyMode;
  }

  static decode(bytes: Uint8Array): KvStateMachine {
    const { sm, decoder } = KvStateMachine.beginDecode(bytes);
    decoder?.step();
    return sm;
  }
}

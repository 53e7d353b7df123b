import type { KubeClient } from "../client/kube_client.ts";
import { describeApiError } from "../client/api_error.ts";
import { backoffDelay } from "../actions/invocation.ts";
import { type KubeObject, objectKey } from "../structs/objects.ts";
import { type ObjectMemory, type ProcessEnv, processObject } from "./processing.ts";
import { ObjectQueue } from "./queueing.ts";
import { watchResource, type WatchSettings } from "./watcher.ts";

export interface ReactorSettings {
  watch: WatchSettings;
  concurrency: number;
  /** How long to wait for the watch to echo our own write before reading the object instead. */
  consistencyTimeoutMs: number;
  /** Backoff between attempts when processing fails on an API error (not a handler error). */
  errorBackoff: { initialMs: number; maxMs: number };
}

/** One object as the reactor knows it. */
interface Slot {
  uid: string;
  body: KubeObject;
  memory: ObjectMemory;
  gone: boolean;
  /** While processing: resourceVersions seen on the watch meanwhile, and the newest body. */
  processing?: { seen: Set<string>; latest?: KubeObject };
  /** The last resourceVersion of this object the watch (or a list) delivered. */
  lastSeen: string;
  /** Our last write's resourceVersion until the watch delivers it (events before it are stale). */
  expected?: { resourceVersion: string; deadline: number };
  /** When processing asked to run again (a delayed retry, a timer). */
  wakeAt: number;
  errors: number;
}

/**
 * Serves one resource: watches it, keeps a slot per object (keyed by UID), and processes each object
 * through the per-object queue.
 *
 * Own writes: every processing step writes the object or its status; the watch then delivers events
 * for those writes, and events already in flight from before them. Reacting to such a stale event
 * could call a finished handler again, so after writing, the slot remembers the resourceVersion written
 * and ignores events until that one arrives (the stream is ordered), or until consistencyTimeoutMs,
 * after which the object is read directly. Status writes never change the essence, so the echo of a
 * write by itself causes no handler call.
 */
export class Reactor {
  readonly #slots = new Map<string, Slot>();
  readonly #queue: ObjectQueue;
  readonly #abort = new AbortController();
  #watching?: Promise<void>;
  #drained?: Promise<void>;

  constructor(
    private readonly client: KubeClient,
    private readonly env: Omit<ProcessEnv, "signal">,
    private readonly settings: ReactorSettings,
  ) {
    this.#queue = new ObjectQueue(settings.concurrency, (uid) => this.#work(uid), (uid, error) => {
      this.env.logger.error(`object ${uid}: unexpected error: ${describeApiError(error)}`);
    });
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Resolves once no handler of this reactor runs any more (after stop, even past its grace). */
  get drained(): Promise<void> {
    return this.#drained ?? this.#queue.stop();
  }

  start(): void {
    this.#watching = watchResource(this.client, this.env.resource, this.settings.watch, {
      onList: (items) => this.#onList(items),
      onEvent: (type, object) => this.#onEvent(type, object),
    }, { signal: this.#abort.signal, logger: this.env.logger, stats: this.env.stats });
  }

  /**
   * Stops watching and calling handlers. Running handlers see ctx.signal aborted; they are waited for
   * up to graceMs, then abandoned with a warning (their progress is resumed by the next leader).
   */
  async stop(graceMs: number): Promise<void> {
    this.#abort.abort();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), graceMs));
    this.#drained = this.#queue.stop();
    const finished = await Promise.race([this.#drained.then(() => true), grace]);
    clearTimeout(timer);
    if (!finished) {
      this.env.logger.warn(
        `${this.#queue.running} handler(s) still running after ${graceMs} ms; not waiting`,
      );
    }
    await this.#watching;
  }

  #onList(items: KubeObject[]): void {
    const listed = new Set(items.map((item) => item.metadata.uid));
    for (const [uid, slot] of this.#slots) {
      if (!listed.has(uid)) this.#markGone(slot);
    }
    for (const item of items) {
      const slot = this.#observe(item);
      if (!slot.processing) slot.expected = undefined; // a list is newer than anything we wrote before it
    }
  }

  #onEvent(type: "ADDED" | "MODIFIED" | "DELETED", object: KubeObject): void {
    if (type === "DELETED") {
      const slot = this.#slots.get(object.metadata.uid);
      if (slot) this.#markGone(slot);
      return;
    }
    this.#observe(object);
  }

  #observe(object: KubeObject): Slot {
    const { uid, resourceVersion } = object.metadata;
    let slot = this.#slots.get(uid);
    if (!slot) {
      const memory = { resumed: false, timers: new Map() };
      slot = {
        uid,
        body: object,
        memory,
        gone: false,
        lastSeen: resourceVersion,
        wakeAt: Infinity,
        errors: 0,
      };
      this.#slots.set(uid, slot);
    } else if (slot.processing) {
      slot.processing.seen.add(resourceVersion);
      slot.processing.latest = object;
    } else if (slot.expected) {
      slot.lastSeen = resourceVersion;
      if (slot.expected.resourceVersion !== resourceVersion) return slot; // stale: from before our write
      slot.expected = undefined;
      slot.body = object;
    } else {
      slot.body = object;
    }
    slot.lastSeen = resourceVersion;
    this.#queue.trigger(uid);
    return slot;
  }

  #markGone(slot: Slot): void {
    slot.gone = true;
    this.#queue.trigger(slot.uid);
  }

  async #work(uid: string): Promise<void> {
    const slot = this.#slots.get(uid);
    if (!slot) return;
    if (slot.gone) {
      this.#slots.delete(uid);
      this.#queue.forget(uid);
      return;
    }
    // A resourceVersion that is newer than anything the watch delivered so far.
    let unseen: string | undefined;
    if (slot.expected) {
      const deadline = Math.min(slot.expected.deadline, slot.wakeAt);
      if (Date.now() < deadline) return this.#queue.wakeAt(uid, deadline);
      const fresh = await this.#read(slot);
      if (!fresh) return;
      slot.body = fresh;
      slot.expected = undefined;
      if (fresh.metadata.resourceVersion !== slot.lastSeen) unseen = fresh.metadata.resourceVersion;
    }
    const { stats } = this.env;
    stats.maxConcurrentObjects = Math.max(stats.maxConcurrentObjects, this.#queue.running);
    const signal = this.#abort.signal;
    const processing: NonNullable<Slot["processing"]> = { seen: new Set() };
    slot.processing = processing;
    const before = slot.body.metadata.resourceVersion;
    try {
      const result = await processObject({ ...this.env, signal }, slot.body, slot.memory);
      slot.errors = 0;
      const written = result.body;
      if (!written) {
        slot.gone = true;
        this.#queue.trigger(uid);
        return;
      }
      if (written.metadata.resourceVersion !== before) unseen = written.metadata.resourceVersion;
      if (unseen && !processing.seen.has(unseen)) {
        // Until the watch delivers this version, whatever it delivers is older: ignore it.
        slot.body = written;
        slot.expected = {
          resourceVersion: unseen,
          deadline: Date.now() + this.settings.consistencyTimeoutMs,
        };
      } else {
        slot.body = processing.latest ?? written;
      }
      slot.wakeAt = result.wakeAt ?? Infinity;
      this.#queue.wakeAt(uid, slot.expected ? Math.min(slot.wakeAt, slot.expected.deadline) : slot.wakeAt);
    } catch (error) {
      if (signal.aborted) return;
      slot.errors++;
      const delay = backoffDelay(this.settings.errorBackoff, slot.errors - 1);
      this.env.logger.error(
        `[${objectKey(slot.body)}] processing failed: ${describeApiError(error)}; again in ${delay} ms`,
      );
      // What we know may be stale after a failed write: read the object again next time.
      slot.expected = { resourceVersion: "", deadline: 0 };
      slot.wakeAt = Date.now() + delay;
      this.#queue.wakeAt(uid, slot.wakeAt);
    } finally {
      slot.processing = undefined;
    }
  }

  async #read(slot: Slot): Promise<KubeObject | undefined> {
    const { namespace, name } = slot.body.metadata;
    const fresh = await this.client.get({ resource: this.env.resource, namespace, name });
    if (!fresh || fresh.metadata.uid !== slot.uid) {
      slot.gone = true;
      this.#queue.trigger(slot.uid);
      return undefined;
    }
    return fresh;
  }
}

/**
 * Runs work per key (an object's UID) so that one key is never worked on twice at the same time,
 * while different keys run concurrently up to a limit. A key triggered while its work runs is run
 * again afterwards, once, however many triggers came in meanwhile: the work always reads the
 * latest state, so triggers coalesce. A key may also ask to be woken at a time (retries, timers).
 */
export class ObjectQueue {
  #ready: string[] = [];
  #running = new Set<string>();
  #dirty = new Set<string>();
  #wakeTimers = new Map<string, ReturnType<typeof setTimeout>>();
  #stopped = false;
  #idleWaiters: Array<() => void> = [];

  constructor(
    private readonly concurrency: number,
    private readonly work: (key: string) => Promise<void>,
    private readonly onError: (key: string, error: unknown) => void,
  ) {
    if (!(concurrency >= 1)) throw new Error(`concurrency must be at least 1, not ${concurrency}`);
  }

  get running(): number {
    return this.#running.size;
  }

  trigger(key: string): void {
    if (this.#stopped) return;
    this.#dirty.add(key);
    if (!this.#running.has(key) && !this.#ready.includes(key)) this.#ready.push(key);
    this.#pump();
  }

  /** Triggers `key` at time `at` (epoch ms), replacing any earlier request; Infinity cancels. */
  wakeAt(key: string, at: number): void {
    clearTimeout(this.#wakeTimers.get(key));
    this.#wakeTimers.delete(key);
    if (this.#stopped || at === Infinity) return;
    this.#wakeTimers.set(
      key,
      setTimeout(() => {
        this.#wakeTimers.delete(key);
        this.trigger(key);
      }, Math.max(0, at - Date.now())),
    );
  }

  /** Drops a key's pending trigger and wake-up (its object is gone). */
  forget(key: string): void {
    this.wakeAt(key, Infinity);
    this.#dirty.delete(key);
    this.#ready = this.#ready.filter((k) => k !== key);
  }

  /** Starts nothing new; resolves when the running work has finished. */
  stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#wakeTimers.values()) clearTimeout(timer);
    this.#wakeTimers.clear();
    this.#ready = [];
    return this.#running.size === 0
      ? Promise.resolve()
      : new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #pump(): void {
    while (!this.#stopped && this.#running.size < this.concurrency && this.#ready.length > 0) {
      this.#run(this.#ready.shift()!);
    }
  }

  async #run(key: string): Promise<void> {
    this.#running.add(key);
    this.#dirty.delete(key);
    try {
      await this.work(key);
    } catch (error) {
      this.onError(key, error);
    } finally {
      this.#running.delete(key);
      // Back of the line rather than straight again: a busy object must not starve the others.
      if (this.#dirty.has(key) && !this.#stopped) this.#ready.push(key);
      this.#pump();
      if (this.#running.size === 0) this.#idleWaiters.splice(0).forEach((resolve) => resolve());
    }
  }
}

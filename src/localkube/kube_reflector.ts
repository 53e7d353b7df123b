/**
 * List-then-watch cache of one resource collection, kept current across dropped watches: resume
 * from the last resourceVersion, relist on 410 Gone (and report what changed meanwhile), retry
 * with back-off on any other error.
 */
import { KubeApi, KubeApiError, KubeObject, WatchEvent } from "./kube_api.ts";

export type ChangeType = "ADDED" | "MODIFIED" | "DELETED";
export type ChangeHandler<T> = (type: ChangeType, object: T) => void;

export class Reflector<T extends KubeObject> {
  readonly items = new Map<string, T>();
  readonly #abort = new AbortController();
  #resourceVersion = "";
  #running: Promise<void> | undefined;

  constructor(
    private readonly api: KubeApi,
    /** A collection path, e.g. `/api/v1/pods?fieldSelector=spec.nodeName%3Dn1`. */
    private readonly path: string,
    private readonly onChange: ChangeHandler<T>,
    private readonly log: (line: string) => void,
  ) {}

  /** Lists once (so `items` is complete when this resolves), then keeps watching in the background. */
  async start(): Promise<void> {
    await this.#relist();
    this.#running = this.#loop();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
  }

  async #loop() {
    let failures = 0;
    while (!this.#abort.signal.aborted) {
      try {
        for await (const event of this.api.watch<T>(this.path, this.#resourceVersion, this.#abort.signal)) {
          this.#apply(event);
          failures = 0;
        }
      } catch (e) {
        if (this.#abort.signal.aborted) return;
        if (e instanceof KubeApiError && e.status === 410) {
          this.#resourceVersion = "";
        } else {
          failures++;
          this.log(`watch ${this.path} failed (${(e as Error).message}); retrying`);
          await this.#sleep(Math.min(5_000, 200 * 2 ** failures));
        }
      }
      if (!this.#resourceVersion && !this.#abort.signal.aborted) {
        try {
          await this.#relist();
        } catch (e) {
          this.log(`list ${this.path} failed (${(e as Error).message}); retrying`);
          await this.#sleep(1_000);
        }
      }
    }
  }

  #apply(event: WatchEvent<T>) {
    if (event.type === "ERROR") {
      const status = event.object as unknown as { code?: number; message?: string };
      throw new KubeApiError(status.code ?? 500, "WatchError", status.message ?? "watch error event");
    }
    this.#resourceVersion = event.object.metadata.resourceVersion ?? this.#resourceVersion;
    if (event.type === "BOOKMARK") return;
    const key = keyOf(event.object);
    if (event.type === "DELETED") this.items.delete(key);
    else this.items.set(key, event.object);
    this.onChange(event.type, event.object);
  }

  async #relist() {
    const list = await this.api.get<{ items: T[]; metadata: { resourceVersion: string } }>(this.path);
    const seen = new Set<string>();
    for (const item of list.items) {
      const key = keyOf(item);
      seen.add(key);
      const old = this.items.get(key);
      this.items.set(key, item);
      if (!old) this.onChange("ADDED", item);
      else if (old.metadata.resourceVersion !== item.metadata.resourceVersion) {
        this.onChange("MODIFIED", item);
      }
    }
    for (const [key, item] of this.items) {
      if (seen.has(key)) continue;
      this.items.delete(key);
      this.onChange("DELETED", item);
    }
    this.#resourceVersion = list.metadata.resourceVersion;
  }

  #sleep(ms: number) {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#abort.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }
}

export function keyOf(object: KubeObject): string {
  return `${object.metadata.namespace ?? ""}/${object.metadata.name}`;
}

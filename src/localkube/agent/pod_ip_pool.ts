/**
 * Pod addresses on loopback: Linux routes all of 127.0.0.0/8 to `lo`, so a process can bind
 * 127.N.x.y with no interface set-up, and every pod of an agent gets its own such address inside
 * the agent's 127.N.0.0/16. Addresses are handed out round-robin, so a freed address is reused as
 * late as possible (a stale DNS answer then finds nobody rather than the wrong pod).
 */
export class PodIpPool {
  readonly #prefix: string;
  readonly #byOwner = new Map<string, string>();
  readonly #owners = new Map<string, string>();
  #cursor = 0;

  /** `secondOctet` picks the /16: 127.<secondOctet>.0.0/16. */
  constructor(readonly secondOctet: number) {
    if (!Number.isInteger(secondOctet) || secondOctet < 1 || secondOctet > 254) {
      throw new Error(`pod network 127.${secondOctet}.0.0/16 is invalid: the second octet must be 1..254`);
    }
    this.#prefix = `127.${secondOctet}`;
  }

  get cidr(): string {
    return `${this.#prefix}.0.0/16`;
  }

  /** The address of `owner` (a pod UID); the same one on every call until it is released. */
  allocate(owner: string): string {
    const existing = this.#byOwner.get(owner);
    if (existing) return existing;
    for (let tried = 0; tried < CANDIDATES; tried++) {
      const ip = this.#candidate(this.#cursor);
      this.#cursor = (this.#cursor + 1) % CANDIDATES;
      if (!this.#owners.has(ip)) {
        this.#take(owner, ip);
        return ip;
      }
    }
    throw new Error(`pod network ${this.cidr} is full (${CANDIDATES} pods): delete pods to free addresses`);
  }

  release(owner: string): void {
    const ip = this.#byOwner.get(owner);
    if (!ip) return;
    this.#byOwner.delete(owner);
    this.#owners.delete(ip);
  }

  #take(owner: string, ip: string) {
    this.#byOwner.set(owner, ip);
    this.#owners.set(ip, owner);
  }

  /** Candidate i maps to 127.N.(i / 254).(i % 254 + 1): last octets 0 and 255 are skipped. */
  #candidate(index: number): string {
    return `${this.#prefix}.${Math.floor(index / 254)}.${(index % 254) + 1}`;
  }
}

const CANDIDATES = 256 * 254;

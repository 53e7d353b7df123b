/** A binary min-heap of timed events; ties break by insertion order, so runs are deterministic. */
export class EventQueue<T> {
  private heap: Array<{ time: number; seq: number; item: T }> = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(time: number, item: T): void {
    const h = this.heap;
    h.push({ time, seq: this.seq++, item });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  peekTime(): number {
    return this.heap.length ? this.heap[0].time : Infinity;
  }

  pop(): { time: number; item: T } | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && this.less(l, m)) m = l;
        if (r < h.length && this.less(r, m)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }

  /** Removes every event matching `drop` (e.g. messages to a crashed node). */
  filter(keep: (item: T) => boolean): void {
    const kept = this.heap.filter((e) => keep(e.item));
    this.heap = [];
    for (const e of kept.sort((a, b) => a.time - b.time || a.seq - b.seq)) {
      this.heap.push(e);
    }
  }

  private less(i: number, j: number): boolean {
    const a = this.heap[i], b = this.heap[j];
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }
}

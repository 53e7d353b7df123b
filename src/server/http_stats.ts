/** Request counts and latency histogram of the HTTP API, by route and status. */
const BUCKETS_MS = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000];

export class HttpStats {
  private readonly counts = new Map<string, number>();
  private readonly buckets = new Map<string, number[]>();
  private readonly sums = new Map<string, number>();

  record(route: string, method: string, status: number, ms: number): void {
    const key = `{route="${route}",method="${method}",code="${status}"}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    const rm = `{route="${route}",method="${method}"`;
    let b = this.buckets.get(rm);
    if (!b) this.buckets.set(rm, b = new Array(BUCKETS_MS.length + 1).fill(0));
    let i = BUCKETS_MS.findIndex((edge) => ms <= edge);
    if (i < 0) i = BUCKETS_MS.length;
    b[i]++;
    this.sums.set(rm, (this.sums.get(rm) ?? 0) + ms / 1000);
  }

  write(
    metric: (name: string, type: "gauge" | "counter", help: string, samples: Array<[string, number]>) => void,
  ) {
    metric("raftkv_http_requests_total", "counter", "HTTP requests by route, method and status.", [
      ...this.counts,
    ]);
    const samples: Array<[string, number]> = [];
    for (const [rm, b] of this.buckets) {
      let cumulative = 0;
      BUCKETS_MS.forEach((edge, i) => {
        cumulative += b[i];
        samples.push([`${rm},le="${edge / 1000}"}`, cumulative]);
      });
      cumulative += b[BUCKETS_MS.length];
      samples.push([`${rm},le="+Inf"}`, cumulative]);
    }
    // Histograms are typed "histogram" in Prometheus; the helper only knows gauges and counters.
    metric(
      "raftkv_http_request_duration_seconds_bucket",
      "counter",
      "HTTP request latency (histogram buckets).",
      samples,
    );
    metric(
      "raftkv_http_request_duration_seconds_sum",
      "counter",
      "Total HTTP request latency.",
      [...this.sums].map(([rm, s]) => [`${rm}}`, s]),
    );
  }
}

/**
 * `http_requests_total` and `http_request_duration_seconds`, counted in plain arrays on the
 * hot path and handed to prom-client's registry only when /metrics is read. prom-client's own
 * `observe`/`inc` validate and hash the labels on every call, even through `labels()`, which
 * showed in the gateway's throughput on the deal list (the README has the figure).
 */
import type { Registry } from "prom-client";

// Latency buckets around what a person notices: sub-millisecond to seconds.
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Series {
  labels: { route: string; method: string };
  /** Requests per status code. */
  statuses: Map<number, number>;
  /** Per bucket (and one past the last for +Inf), not cumulative. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * What prom-client's registry reads from a metric: the shape its own metrics return. Its
 * histograms carry the series' labels as `sharedLabels`, printed after `le` and the defaults.
 */
interface MetricValues {
  name: string;
  help: string;
  type: "counter" | "histogram";
  values: { labels: Record<string, string | number>; value: number; metricName?: string; sharedLabels?: Record<string, string> }[];
  aggregator: "sum";
}

export class RequestMetrics {
  /** By route, then method: no key is built per request. */
  private readonly byRoute = new Map<string, Map<string, Series>>();

  private get series(): Series[] {
    return [...this.byRoute.values()].flatMap((m) => [...m.values()]);
  }

  /** Counts one answered request and its latency. */
  observe(route: string, method: string, status: number, seconds: number): void {
    let byMethod = this.byRoute.get(route);
    if (byMethod === undefined) this.byRoute.set(route, (byMethod = new Map()));
    let s = byMethod.get(method);
    if (s === undefined) {
      s = { labels: { route, method }, statuses: new Map(), buckets: new Float64Array(LATENCY_BUCKETS.length + 1), sum: 0, count: 0 };
      byMethod.set(method, s);
    }
    s.statuses.set(status, (s.statuses.get(status) ?? 0) + 1);
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
    s.buckets[i]!++;
    s.sum += seconds;
    s.count++;
  }

  /** Registers both metric families with the registry, read at scrape time. */
  register(registry: Registry): void {
    const counter = { name: "http_requests_total", get: () => this.counterValues(counter.name), reset: () => this.byRoute.clear() };
    const histogram = { name: "http_request_duration_seconds", get: () => this.histogramValues(histogram.name), reset: () => this.byRoute.clear() };
    // biome-ignore lint: prom-client accepts any object with name and get()
    registry.registerMetric(counter as any);
    // biome-ignore lint: as above
    registry.registerMetric(histogram as any);
  }

  private counterValues(name: string): MetricValues {
    const values: MetricValues["values"] = [];
    for (const s of this.series)
      for (const [status, count] of s.statuses) values.push({ labels: { ...s.labels, status: String(status) }, value: count });
    return { name, help: "Requests answered, by route pattern, method and status", type: "counter", values, aggregator: "sum" };
  }

  private histogramValues(name: string): MetricValues {
    const values: MetricValues["values"] = [];
    for (const s of this.series) {
      let cumulative = 0;
      LATENCY_BUCKETS.forEach((le, i) => {
        cumulative += s.buckets[i]!;
        values.push({ labels: { le }, sharedLabels: s.labels, value: cumulative, metricName: `${name}_bucket` });
      });
      values.push({ labels: { le: "+Inf" }, sharedLabels: s.labels, value: s.count, metricName: `${name}_bucket` });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${name}_sum` });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${name}_count` });
    }
    return { name, help: "Time from request to response, by route pattern and method", type: "histogram", values, aggregator: "sum" };
  }
}

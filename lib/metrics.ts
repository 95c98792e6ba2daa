/**
 * Prometheus metrics (prom-client): per-route request counts and latency histograms, process
 * memory and CPU, and whatever a service adds. The route label is always a route pattern,
 * never a raw path, so the number of series stays bounded.
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client";

export interface ServiceMetrics {
  registry: Registry;
  /** Counts one answered request and its latency. */
  observe(route: string, method: string, status: number, seconds: number): void;
  text(): Promise<string>;
}

// Latency buckets around what a person notices: sub-millisecond to seconds.
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createServiceMetrics(service: string): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: "http_requests_total",
    help: "Requests answered, by route pattern, method and status",
    labelNames: ["route", "method", "status"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "Time from request to response, by route pattern and method",
    labelNames: ["route", "method"] as const,
    buckets: BUCKETS,
    registers: [registry],
  });
  // Label sets are few (route patterns × methods × statuses): look each one up once, not
  // hash its labels on every request.
  const series = new Map<string, { count: { inc(): void }; time: { observe(v: number): void } }>();
  return {
    registry,
    observe(route, method, status, seconds) {
      const key = `${status} ${method} ${route}`;
      let s = series.get(key);
      if (s === undefined) {
        s = { count: requests.labels(route, method, String(status)), time: duration.labels(route, method) };
        series.set(key, s);
      }
      s.count.inc();
      s.time.observe(seconds);
    },
    // prom-client writes NaN (an event-loop lag with no sample yet) as "Nan"; the format says "NaN".
    text: async () => (await registry.metrics()).replace(/ Nan$/gm, " NaN"),
  };
}

export const metricsResponse = async (m: ServiceMetrics) =>
  new Response(await m.text(), { headers: { "content-type": m.registry.contentType } });

/** The hand-kept request metrics print exactly what prom-client's own Counter and Histogram print. */
import { expect, test } from "bun:test";
import { Counter, Histogram, Registry } from "prom-client";
import { LATENCY_BUCKETS, RequestMetrics } from "./request-metrics.ts";

const SAMPLES: [string, string, number, number][] = [
  ["/products/deals", "GET", 200, 0.0004],
  ["/products/deals", "GET", 200, 0.0005], // on a bucket's bound: counted in that bucket
  ["/products/deals", "GET", 304, 0.003],
  ["/products/deals", "GET", 502, 12], // past the last bucket: +Inf only
  ["/products/:id", "GET", 404, 0.02],
  ["/auth/login", "POST", 200, 0.2],
  ["(unmatched)", "GET", 404, 0],
];

function withPromClient(): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: "gateway" });
  const requests = new Counter({ name: "http_requests_total", help: "Requests answered, by route pattern, method and status", labelNames: ["route", "method", "status"], registers: [registry] });
  const duration = new Histogram({ name: "http_request_duration_seconds", help: "Time from request to response, by route pattern and method", labelNames: ["route", "method"], buckets: LATENCY_BUCKETS, registers: [registry] });
  for (const [route, method, status, seconds] of SAMPLES) {
    requests.inc({ route, method, status: String(status) });
    duration.observe({ route, method }, seconds);
  }
  return registry;
}

function withRequestMetrics(): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: "gateway" });
  const metrics = new RequestMetrics();
  metrics.register(registry);
  for (const [route, method, status, seconds] of SAMPLES) metrics.observe(route, method, status, seconds);
  return registry;
}

/** Lines sorted: prom-client orders a counter's series by first use of each status, ours by route first. */
const lines = async (r: Registry) => (await r.metrics()).split("\n").filter(Boolean).sort();

test("same exposition text as prom-client for the same requests", async () => {
  const ours = await lines(withRequestMetrics());
  expect(ours).toEqual(await lines(withPromClient()));
  expect(ours).toContain('http_requests_total{route="/products/deals",method="GET",status="200",service="gateway"} 2');
  expect(ours).toContain('http_request_duration_seconds_bucket{le="0.0005",service="gateway",route="/products/deals",method="GET"} 2');
  expect(ours).toContain('http_request_duration_seconds_bucket{le="+Inf",service="gateway",route="/products/deals",method="GET"} 4');
});

test("nothing observed: both families are declared with no series", async () => {
  const registry = new Registry();
  new RequestMetrics().register(registry);
  expect(await registry.metrics()).toContain("# TYPE http_request_duration_seconds histogram");
  expect(await registry.metrics()).not.toContain("http_requests_total{");
});

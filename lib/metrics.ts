/**
 * Prometheus metrics (prom-client): per-route request counts and latency histograms, process
 * memory and CPU, and whatever a service adds. The route label is always a route pattern,
 * never a raw path, so the number of series stays bounded.
 */
import { collectDefaultMetrics, Registry } from "prom-client";
import { RequestMetrics } from "./request-metrics.ts";

export interface ServiceMetrics {
  registry: Registry;
  /** Counts one answered request and its latency. */
  observe(route: string, method: string, status: number, seconds: number): void;
  text(): Promise<string>;
}

export function createServiceMetrics(service: string): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const requests = new RequestMetrics();
  requests.register(registry);
  return {
    registry,
    observe: (route, method, status, seconds) => requests.observe(route, method, status, seconds),
    // prom-client writes NaN (an event-loop lag with no sample yet) as "Nan"; the format says "NaN".
    text: async () => (await registry.metrics()).replace(/ Nan$/gm, " NaN"),
  };
}

export const metricsResponse = async (m: ServiceMetrics) =>
  new Response(await m.text(), { headers: { "content-type": m.registry.contentType } });

/** The edge's metrics: open connections, bytes waiting for clients, requests shed and rate limited. */
import { Counter, Gauge } from "prom-client";
import type { ServiceMetrics } from "../../lib/metrics.ts";
import type { Edge } from "./edge.ts";

export function registerEdgeMetrics(metrics: ServiceMetrics, edge: () => Edge | null) {
  const registers = [metrics.registry];
  new Gauge({
    name: "gateway_open_connections",
    help: "Client connections open on this process's public listener",
    registers,
    collect() {
      this.set(edge()?.stats().connections ?? 0);
    },
  });
  new Gauge({
    name: "gateway_buffered_bytes",
    help: "Bytes waiting to be written to clients and to the gateway's app (capped by GATEWAY_BUFFER_BYTES)",
    registers,
    collect() {
      this.set(edge()?.stats().bufferedBytes ?? 0);
    },
  });
  new Counter({
    name: "gateway_shed_total",
    help: "Requests answered 503 at once, or connections refused: overload (GATEWAY_MAX_IN_FLIGHT), connections (the connection caps), memory (GATEWAY_BUFFER_BYTES)",
    labelNames: ["reason"] as const,
    registers,
    collect() {
      const shed = edge()?.stats().shed;
      this.reset();
      if (shed) for (const [reason, n] of Object.entries(shed)) this.inc({ reason }, n);
    },
  });
  const limited = new Counter({
    name: "gateway_rate_limited_total",
    help: "Protected writes answered 429 by a rate limit: per token subject or per client address",
    labelNames: ["limit"] as const,
    registers,
  });
  return (limit: "subject" | "address") => limited.inc({ limit });
}

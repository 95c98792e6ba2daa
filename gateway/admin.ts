/**
 * The gateway's admin listener (loopback by default): its metrics, health and readiness,
 * which the public port does not serve. Operators scrape it; clients never reach it.
 */
import type { Server } from "bun";
import { metricsResponse, type ServiceMetrics } from "../lib/metrics.ts";

export interface AdminOptions {
  hostname: string;
  port: number;
  reusePort: boolean;
  metrics: ServiceMetrics;
}

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

export function startAdmin(o: AdminOptions): Server<undefined> {
  return Bun.serve({
    hostname: o.hostname,
    port: o.port,
    reusePort: o.reusePort,
    routes: {
      "/metrics": () => metricsResponse(o.metrics),
      "/health": () => json({ status: "healthy", service: "gateway" }),
      "/ready": () => json({ status: "ready", service: "gateway", checks: {} }),
    },
    fetch: () => json({ error: "NOT_FOUND", message: "No such route" }, 404),
  });
}

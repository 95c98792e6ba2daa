/** The gateway's own metrics: upstream failures by kind, and its upstream connections. */
import { Counter, Gauge } from "prom-client";
import type { ServiceMetrics } from "../../lib/metrics.ts";
import type { UpstreamFailure } from "./answer.ts";
import type { Upstream } from "./balancer.ts";

export function registerUpstreamMetrics(metrics: ServiceMetrics, upstreams: Upstream[]) {
  const failures = new Counter({
    name: "gateway_upstream_errors_total",
    help: "Requests the gateway could not complete upstream: refused (502), broken (502), timeout (504)",
    labelNames: ["upstream", "kind"] as const,
    registers: [metrics.registry],
  });
  new Gauge({
    name: "gateway_upstream_connections",
    help: "Kept-alive upstream connections of this process, busy or idle",
    labelNames: ["upstream", "state"] as const,
    registers: [metrics.registry],
    collect() {
      for (const u of upstreams) {
        const busy = u.pools.reduce((n, p) => n + p.busy, 0);
        const all = u.pools.reduce((n, p) => n + p.size, 0);
        this.set({ upstream: u.name, state: "busy" }, busy);
        this.set({ upstream: u.name, state: "idle" }, all - busy);
      }
    },
  });
  return (upstream: string, kind: UpstreamFailure) => failures.inc({ upstream, kind });
}

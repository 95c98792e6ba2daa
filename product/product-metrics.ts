/** The product service's own metrics: the snapshot's freshness and the database pool's use. */
import { Gauge } from "prom-client";
import type { Sql } from "../lib/db.ts";
import { registerDbPoolMetric } from "../lib/db-pool-metric.ts";
import type { ServiceMetrics } from "../lib/metrics.ts";
import type { CatalogSnapshot } from "./snapshot.ts";

export function registerProductMetrics(metrics: ServiceMetrics, snapshot: CatalogSnapshot, sql: Sql, applicationName: string, poolSize: number) {
  const registers = [metrics.registry];
  new Gauge({
    name: "product_snapshot_age_seconds",
    help: "Time since the in-memory deal and product snapshot was last read from the database",
    registers,
    collect() {
      this.set(snapshot.age() / 1000);
    },
  });
  new Gauge({
    name: "product_snapshot_live_deals",
    help: "Deals live now, as the snapshot serves them",
    registers,
    collect() {
      this.set(snapshot.liveDeals());
    },
  });
  new Gauge({
    name: "product_snapshot_loads",
    help: "Snapshot reloads since start, by result",
    labelNames: ["result"] as const,
    registers,
    collect() {
      this.set({ result: "ok" }, snapshot.loads);
      this.set({ result: "failed" }, snapshot.failures);
    },
  });
  registerDbPoolMetric(metrics, sql, applicationName, poolSize);
}

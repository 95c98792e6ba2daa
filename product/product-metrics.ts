/** The product service's own metrics: the snapshot's freshness and the database pool's use. */
import { Gauge } from "prom-client";
import type { Sql } from "../lib/db.ts";
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
  new Gauge({
    name: "db_pool_connections",
    help: "This process's database connections: the pool's size, open ones and ones running a query",
    labelNames: ["state"] as const,
    registers,
    async collect() {
      this.set({ state: "max" }, poolSize);
      // Asked of PostgreSQL itself: postgres.js keeps no public count. Skipped while it is down.
      const rows = await Promise.race([
        sql`select count(*)::int as open, (count(*) filter (where state = 'active'))::int as active
            from pg_stat_activity where application_name = ${applicationName}`.catch(() => null),
        Bun.sleep(500).then(() => null),
      ]);
      if (!rows?.[0]) return;
      this.set({ state: "open" }, rows[0].open);
      this.set({ state: "active" }, rows[0].active);
    },
  });
}

/**
 * `db_pool_connections{state}`: a process's database pool, its size and how many of its
 * connections are open and busy. Every service with a database exports it under one name, so
 * one alert and one panel cover them all (Prometheus labels each series with its job).
 */
import { Gauge } from "prom-client";
import type { Sql } from "./db.ts";
import type { ServiceMetrics } from "./metrics.ts";

/** Longest a scrape waits for the count: a database that does not answer must not stall /metrics. */
const COUNT_TIMEOUT_MS = 500;

export function registerDbPoolMetric(metrics: ServiceMetrics, sql: Sql, applicationName: string, poolSize: number): void {
  new Gauge({
    name: "db_pool_connections",
    help: "This process's database connections: the pool's size, open ones and ones running a query",
    labelNames: ["state"] as const,
    registers: [metrics.registry],
    async collect() {
      this.set({ state: "max" }, poolSize);
      // Asked of PostgreSQL itself: postgres.js keeps no public count. Skipped while it is down.
      const rows = await Promise.race([
        sql`select count(*)::int as open, (count(*) filter (where state = 'active'))::int as active
            from pg_stat_activity where application_name = ${applicationName}`.catch(() => null),
        Bun.sleep(COUNT_TIMEOUT_MS).then(() => null),
      ]);
      if (!rows?.[0]) return;
      this.set({ state: "open" }, rows[0].open);
      this.set({ state: "active" }, rows[0].active);
    },
  });
}

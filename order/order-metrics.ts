/** The order service's own metrics: answers by outcome, batch sizes, commit times, the pool. */
import { Counter, Histogram } from "prom-client";
import type { Sql } from "../lib/db.ts";
import { registerDbPoolMetric } from "../lib/db-pool-metric.ts";
import type { ServiceMetrics } from "../lib/metrics.ts";
import type { Answer } from "./model.ts";

export interface OrderMetrics {
  /** One placement answer (confirmed, refused or error, with its code). */
  answered(a: Answer): void;
  /** One batch transaction committed: how many orders it carried and how long it took. */
  batch(size: number, seconds: number): void;
}

export function registerOrderMetrics(metrics: ServiceMetrics, sql: Sql, applicationName: string, poolSize: number): OrderMetrics {
  const registers = [metrics.registry];
  const orders = new Counter({
    name: "orders_total",
    help: "Order placements answered, by outcome (confirmed, refused, error) and the contract's error code (none when confirmed)",
    labelNames: ["outcome", "code"] as const,
    registers,
  });
  const batchSize = new Histogram({
    name: "order_batch_size",
    help: "Order requests per placement transaction",
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    registers,
  });
  const commitSeconds = new Histogram({
    name: "order_commit_seconds",
    help: "Time of one placement transaction, from BEGIN to the end of COMMIT",
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2],
    registers,
  });
  registerDbPoolMetric(metrics, sql, applicationName, poolSize);
  return {
    answered(a) {
      const outcome = a.status === 201 ? "confirmed" : a.status < 500 ? "refused" : "error";
      const code = a.status === 201 ? "none" : String((a.body as { error?: unknown }).error ?? "none");
      orders.inc({ outcome, code });
    },
    batch(size, seconds) {
      batchSize.observe(size);
      commitSeconds.observe(seconds);
    },
  };
}

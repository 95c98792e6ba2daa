/** The auth service's own metrics: what hashing costs, and what was shed for want of it. */
import { Counter, Gauge, Histogram } from "prom-client";
import type { ServiceMetrics } from "../lib/metrics.ts";
import type { ConcurrencyLimit } from "./concurrency-limit.ts";

export function registerAuthMetrics(metrics: ServiceMetrics, limit: ConcurrencyLimit) {
  const registers = [metrics.registry];
  const hashSeconds = new Histogram({
    name: "auth_password_hash_seconds",
    help: "Time one argon2id hash or verification took (queueing not included), by operation",
    labelNames: ["operation"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const shed = new Counter({
    name: "auth_login_shed_total",
    help: "Logins and registrations answered 503 at once because too many password hashes were waiting",
    labelNames: ["operation"] as const,
    registers,
  });
  new Gauge({
    name: "auth_password_hash_queue",
    help: "Password hashes running and waiting now",
    labelNames: ["state"] as const,
    registers,
    collect() {
      const { running, waiting } = limit.load;
      this.set({ state: "running" }, running);
      this.set({ state: "waiting" }, waiting);
    },
  });
  return {
    observeHash: (operation: "hash" | "verify", seconds: number) => hashSeconds.observe({ operation }, seconds),
    countShed: (operation: "login" | "register") => shed.inc({ operation }),
  };
}

import { databaseSettings, defineSettings, int, oneOf, serviceSettings, type SettingsOf } from "../lib/config.ts";
import { jwtSecret } from "../lib/jwt-secret.ts";

export const ORDER_SETTINGS = defineSettings("order", {
  ...serviceSettings({ prefix: "ORDER", port: 8003, host: "127.0.0.1", hostHelp: "listen address; only the gateway should be exposed" }),
  ...databaseSettings(),
  poolSize: int({ env: "DB_POOL_SIZE", default: 10, min: 1, max: 500, help: "connections in the database pool per process" }),
  jwtSecret: jwtSecret("HS256 key for callers that show a token instead of the gateway's X-User-ID"),
  batching: oneOf({ env: "ORDER_BATCHING", default: "on", allowed: ["on", "off"], help: "on: orders that arrive while a transaction is in flight share the next one (group commit); off: one transaction per order" }),
  maxBatch: int({ env: "ORDER_BATCH_MAX", default: 500, min: 1, max: 10_000, help: "most orders in one transaction" }),
  keySweepMs: int({ env: "ORDER_KEY_SWEEP_MS", default: 600_000, min: 100, max: 86_400_000, help: "how often Idempotency-Keys older than 24 hours are deleted" }),
  soldOutTtlMs: int({ env: "ORDER_SOLD_OUT_TTL_MS", default: 1000, min: 0, max: 60_000, help: "how long a deal seen sold out is refused from memory before the database is asked again" }),
});

export type OrderConfig = SettingsOf<typeof ORDER_SETTINGS>;

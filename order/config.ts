import { EnvReader, readServiceSettings, type ServiceSettings } from "../lib/config.ts";
import { readJwtSecret } from "../lib/jwt-secret.ts";

export interface OrderConfig extends ServiceSettings {
  databaseUrl: string | undefined;
  poolSize: number;
  jwtSecret: string;
  batching: boolean;
  maxBatch: number;
  soldOutTtlMs: number;
}

export const ORDER_SETTINGS_HELP = `order service settings (environment):
  ORDER_PORT                  listen port (8003)
  ORDER_HOST                  listen address (127.0.0.1; only the gateway should be exposed)
  DATABASE_URL                postgres:// URL (required for the executable)
  DB_POOL_SIZE                connections in the pool (10)
  JWT_SECRET                  HS256 key for callers that come with a token instead of the
                              gateway's X-User-ID (development key; refused when NODE_ENV=production)
  ORDER_BATCHING              on: concurrent orders for the same rows share one transaction
                              (group commit); off: one transaction per order (on)
  ORDER_BATCH_MAX             most orders in one transaction (500)
  ORDER_SOLD_OUT_TTL_MS       how long a deal seen sold out is refused from memory before the
                              database is asked again (1000)
  BODY_LIMIT_BYTES            largest request body (1048576)
  SHUTDOWN_GRACE_MS           time for in-flight requests at SIGTERM (10000)
  LOG_LEVEL                   debug | info | warn | error (info)
  NODE_ENV                    production refuses the development JWT key`;

export function readOrderConfig(env = new EnvReader()): OrderConfig {
  const settings = readServiceSettings(env, "ORDER_PORT", 8003, "127.0.0.1");
  return {
    ...settings,
    databaseUrl: env.databaseUrl(),
    poolSize: env.int("DB_POOL_SIZE", 10, 1, 500),
    jwtSecret: readJwtSecret(env, settings.production),
    batching: env.bool("ORDER_BATCHING", true),
    maxBatch: env.int("ORDER_BATCH_MAX", 500, 1, 10_000),
    soldOutTtlMs: env.int("ORDER_SOLD_OUT_TTL_MS", 1000, 0, 60_000),
  };
}

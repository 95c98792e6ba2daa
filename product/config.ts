import { EnvReader, readServiceSettings, type ServiceSettings } from "../lib/config.ts";

export interface ProductConfig extends ServiceSettings {
  databaseUrl: string | undefined;
  poolSize: number;
  snapshotRefreshMs: number;
  snapshotNotifyGapMs: number;
  snapshotProductWindow: number;
  workers: number;
}

export const PRODUCT_SETTINGS_HELP = `product service settings (environment):
  PRODUCT_PORT                listen port (8002)
  PRODUCT_HOST                listen address (127.0.0.1; only the gateway should be exposed)
  PRODUCT_WORKERS             processes sharing the port with reusePort (1)
  DATABASE_URL                postgres:// URL (required for the executable)
  DB_POOL_SIZE                connections in the pool (10)
  SNAPSHOT_REFRESH_MS         full refresh of the in-memory deal/product snapshot (1000);
                              changes arrive sooner through LISTEN/NOTIFY
  SNAPSHOT_NOTIFY_GAP_MS      least time between two reloads asked for by NOTIFY (250): an
                              order spike changes deal rows all the time
  SNAPSHOT_PRODUCT_WINDOW     newest products kept in memory for list pages (1000)
  BODY_LIMIT_BYTES            largest request body (1048576)
  SHUTDOWN_GRACE_MS           time for in-flight requests at SIGTERM (10000)
  LOG_LEVEL                   debug | info | warn | error (info)`;

export function readProductConfig(env = new EnvReader()): ProductConfig {
  return {
    ...readServiceSettings(env, "PRODUCT_PORT", 8002, "127.0.0.1"),
    databaseUrl: env.databaseUrl(),
    poolSize: env.int("DB_POOL_SIZE", 10, 1, 500),
    snapshotRefreshMs: env.int("SNAPSHOT_REFRESH_MS", 1000, 50, 60_000),
    snapshotNotifyGapMs: env.int("SNAPSHOT_NOTIFY_GAP_MS", 250, 0, 10_000),
    snapshotProductWindow: env.int("SNAPSHOT_PRODUCT_WINDOW", 1000, 100, 100_000),
    workers: env.int("PRODUCT_WORKERS", 1, 1, 64),
  };
}

import { DATABASE_SETTINGS_HELP, EnvReader, readDatabaseSettings, readServiceSettings, type DatabaseSettings, type ServiceSettings } from "../lib/config.ts";

export interface ProductConfig extends ServiceSettings, DatabaseSettings {
  snapshotRefreshMs: number;
  snapshotProductWindow: number;
  workers: number;
}

export const PRODUCT_SETTINGS_HELP = `product service settings (environment):
  PRODUCT_PORT                listen port (8002)
  PRODUCT_HOST                listen address (127.0.0.1; only the gateway should be exposed)
  PRODUCT_WORKERS             processes sharing the port with reusePort (1)
${DATABASE_SETTINGS_HELP}
  SNAPSHOT_REFRESH_MS         full refresh of the in-memory deal/product snapshot (1000);
                              changes arrive sooner through LISTEN/NOTIFY
  SNAPSHOT_PRODUCT_WINDOW     newest products kept in memory for list pages (1000)
  BODY_LIMIT_BYTES            largest request body (1048576)
  SHUTDOWN_GRACE_MS           time for in-flight requests at SIGTERM (10000)
  LOG_LEVEL                   debug | info | warn | error (info)`;

export function readProductConfig(env = new EnvReader()): ProductConfig {
  return {
    ...readServiceSettings(env, "PRODUCT_PORT", 8002, "127.0.0.1"),
    ...readDatabaseSettings(env),
    snapshotRefreshMs: env.int("SNAPSHOT_REFRESH_MS", 1000, 50, 60_000),
    snapshotProductWindow: env.int("SNAPSHOT_PRODUCT_WINDOW", 1000, 100, 100_000),
    workers: env.int("PRODUCT_WORKERS", 1, 1, 64),
  };
}

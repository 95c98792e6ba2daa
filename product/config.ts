import { databaseSettings, defineSettings, int, serviceSettings, type SettingsOf } from "../lib/config.ts";

export const PRODUCT_SETTINGS = defineSettings("product", {
  ...serviceSettings({ prefix: "PRODUCT", port: 8002, host: "127.0.0.1", hostHelp: "listen address; only the gateway should be exposed" }),
  workers: int({ env: "PRODUCT_WORKERS", default: 1, min: 1, max: 64, help: "processes sharing the port with reusePort" }),
  ...databaseSettings(),
  snapshotRefreshMs: int({ env: "SNAPSHOT_REFRESH_MS", default: 1000, min: 50, max: 60_000, help: "timed reload of the in-memory snapshot; changes arrive sooner by LISTEN/NOTIFY" }),
  snapshotNotifyGapMs: int({ env: "SNAPSHOT_NOTIFY_GAP_MS", default: 250, min: 0, max: 10_000, help: "least time between two reloads asked for by NOTIFY: an order spike changes deal rows all the time" }),
  snapshotProductWindow: int({ env: "SNAPSHOT_PRODUCT_WINDOW", default: 1000, min: 100, max: 100_000, help: "newest products held in memory for list pages" }),
});

export type ProductConfig = SettingsOf<typeof PRODUCT_SETTINGS>;

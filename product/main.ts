/** Starts the product service: config, database, migrations, snapshot, listen, graceful stop. */
import { ConfigError } from "../lib/config.ts";
import { connectDatabase, databaseAnswers, migrate, withSessionConnection } from "../lib/db.ts";
import { createLogger, describeError } from "../lib/log.ts";
import { listen, runMain } from "../lib/serve.ts";
import { serviceRuntime } from "../lib/service-app.ts";
import { isWorkerProcess, startExtraWorkers, stopWorkers } from "../lib/workers.ts";
import { buildProductApp } from "./app.ts";
import { Catalog } from "./catalog.ts";
import { PRODUCT_SETTINGS } from "./config.ts";
import { migrations } from "./migrations/index.ts";
import { registerProductMetrics } from "./product-metrics.ts";
import { CatalogSnapshot } from "./snapshot.ts";

await runMain(PRODUCT_SETTINGS, async (config) => {
  if (!config.databaseUrl) throw new ConfigError("DATABASE_URL is not set (bun start runs an embedded database for you)");
  const log = createLogger("product", config.logLevel);
  // Per process, so the pool metric can find this process's connections in pg_stat_activity.
  const applicationName = `product-${process.pid}`;
  const applied = isWorkerProcess() ? [] : await withSessionConnection(config.databaseSessionUrl!, "product-migrate", (s) => migrate(s, "product", migrations));
  const sql = connectDatabase({ url: config.databaseUrl, poolSize: config.poolSize, applicationName, transactionPooler: config.databasePoolMode === "transaction" });
  // LISTEN holds its server connection for the process's life, which a transaction pooler does
  // not give: the subscription has its own client on DATABASE_SESSION_URL.
  const session = connectDatabase({ url: config.databaseSessionUrl!, poolSize: 1, applicationName: `${applicationName}-listen` });
  const catalog = new Catalog(sql);

  let lastWarning = 0;
  const snapshot = new CatalogSnapshot(catalog, config.snapshotProductWindow, (e) => {
    // Once a second at most: while the database is down every refresh fails.
    if (Date.now() - lastWarning < 1000) return;
    lastWarning = Date.now();
    log.warn("snapshot refresh failed; serving the last one", { ageMs: snapshot.age(), ...describeError(e) });
  }, config.snapshotNotifyGapMs);
  await snapshot.refresh();
  if (!snapshot.ready) throw snapshot.lastError;
  // A (re)subscription may have missed notifications, so it reloads as well.
  const listener = await session.listen("catalog_changed", () => snapshot.refreshSoon(), () => void snapshot.refresh());
  const timer = setInterval(() => void snapshot.refresh(), config.snapshotRefreshMs);

  const runtime = serviceRuntime("product", config, log);
  registerProductMetrics(runtime.metrics, snapshot, sql, applicationName, config.poolSize);
  const app = buildProductApp({ catalog, snapshot, runtime, databaseAnswers: () => databaseAnswers(sql) });
  const workers = startExtraWorkers(config.workers, log);
  listen(app, { port: config.port, host: config.host, reusePort: config.workers > 1, maxBodyBytes: config.bodyLimit, shutdownGraceMs: config.shutdownGraceMs }, log, async () => {
    clearInterval(timer);
    snapshot.cancelScheduled();
    await stopWorkers(workers);
    await listener.unlisten().catch(() => {});
    await Promise.all([sql.end({ timeout: 5 }), session.end({ timeout: 5 })]);
    await runtime.tracer?.close();
  });
  log.info("ready", { url: `http://${config.host}:${app.server?.port}`, migrationsApplied: applied, worker: process.env.WORKER_INDEX ?? "0", pid: process.pid });
});

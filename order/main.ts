/** Starts the order service: config, database, migrations, listen, graceful stop. */
import { ConfigError } from "../lib/config.ts";
import { connectDatabase, databaseAnswers, migrate, withSessionConnection } from "../lib/db.ts";
import { createLogger } from "../lib/log.ts";
import { serveMux } from "../lib/mux-server.ts";
import { listen, runMain } from "../lib/serve.ts";
import { serviceRuntime } from "../lib/service-app.ts";
import { TokenVerifier } from "../lib/token-verifier.ts";
import { buildOrderApp } from "./app.ts";
import { fastPlacing } from "./fast-placing.ts";
import { startKeySweep } from "./key-sweep.ts";
import { ORDER_SETTINGS } from "./config.ts";
import { migrations } from "./migrations/index.ts";
import { registerOrderMetrics } from "./order-metrics.ts";
import { OrderStore } from "./order-store.ts";
import { Placing } from "./placing.ts";

await runMain(ORDER_SETTINGS, async (config) => {
  if (!config.databaseUrl) throw new ConfigError("DATABASE_URL is not set (bun start runs an embedded database for you)");
  const log = createLogger("order", config.logLevel);
  // Per process, so the pool metric can find this process's connections in pg_stat_activity.
  const applicationName = `order-${process.pid}`;
  const applied = await withSessionConnection(config.databaseSessionUrl!, "order-migrate", (s) => migrate(s, "orders", migrations));
  // A second to connect: an order must learn within 2 s that the database is down.
  const sql = connectDatabase({ url: config.databaseUrl, poolSize: config.poolSize, applicationName, connectTimeout: 1, transactionPooler: config.databasePoolMode === "transaction" });
  const runtime = serviceRuntime("order", config, log);
  const metrics = registerOrderMetrics(runtime.metrics, sql, applicationName, config.poolSize);
  const store = new OrderStore(sql);
  const placing = new Placing(store, metrics, log, { batching: config.batching === "on", maxBatch: config.maxBatch, soldOutTtlMs: config.soldOutTtlMs });
  const sweep = startKeySweep(store, log, config.keySweepMs);
  const app = buildOrderApp({ store, placing, verifier: new TokenVerifier(config.jwtSecret), runtime, databaseAnswers: () => databaseAnswers(sql) });
  // The gateway sends orders over one multiplexed connection (lib/mux-frames.ts) instead of one connection each.
  const mux = serveMux(app, log, fastPlacing({ placing, runtime }));
  listen(app, { port: config.port, host: config.host, maxBodyBytes: config.bodyLimit, shutdownGraceMs: config.shutdownGraceMs, mux }, log, async () => {
    await sweep.stop();
    await sql.end({ timeout: 5 });
    await runtime.tracer?.close();
  });
  log.info("ready", { url: `http://${config.host}:${app.server?.port}`, migrationsApplied: applied, batching: config.batching, pid: process.pid });
});

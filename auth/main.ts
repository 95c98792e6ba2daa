/** Starts the auth service: config, database, migrations, listen, graceful stop. */
import { registerDbPoolMetric } from "../lib/db-pool-metric.ts";
import { connectDatabase, databaseAnswers, migrate, withSessionConnection } from "../lib/db.ts";
import { ConfigError } from "../lib/config.ts";
import { createLogger } from "../lib/log.ts";
import { listen, runMain } from "../lib/serve.ts";
import { serviceRuntime } from "../lib/service-app.ts";
import { Accounts } from "./accounts.ts";
import { buildAuthApp } from "./app.ts";
import { registerAuthMetrics } from "./auth-metrics.ts";
import { ConcurrencyLimit } from "./concurrency-limit.ts";
import { AUTH_SETTINGS } from "./config.ts";
import { LoginLimiter } from "./login-limiter.ts";
import { migrations } from "./migrations/index.ts";
import { PasswordHasher } from "./password-hasher.ts";
import { Users } from "./users.ts";

await runMain(AUTH_SETTINGS, async (config) => {
  if (!config.databaseUrl) throw new ConfigError("DATABASE_URL is not set (bun start runs an embedded database for you)");
  const log = createLogger("auth", config.logLevel);
  const applied = await withSessionConnection(config.databaseSessionUrl!, "auth-migrate", (s) => migrate(s, "auth", migrations));
  // Per process, so the pool metric can find this process's connections in pg_stat_activity.
  const applicationName = `auth-${process.pid}`;
  const sql = connectDatabase({ url: config.databaseUrl, poolSize: config.poolSize, applicationName, transactionPooler: config.databasePoolMode === "transaction" });
  const runtime = serviceRuntime("auth", config, log);
  registerDbPoolMetric(runtime.metrics, sql, applicationName, config.poolSize);
  const users = new Users(sql);
  const hashLimit = new ConcurrencyLimit(config.hashConcurrency, config.hashQueue);
  const authMetrics = registerAuthMetrics(runtime.metrics, hashLimit);
  const accounts = new Accounts({
    users,
    limiter: new LoginLimiter(config.loginFailureLimit, config.loginFailureWindowSeconds * 1000),
    hasher: new PasswordHasher({ memoryKib: config.hashMemoryKib, timeCost: config.hashTimeCost }, hashLimit, authMetrics.observeHash),
    log,
    onShed: authMetrics.countShed,
  });
  const app = buildAuthApp({
    accounts,
    users,
    runtime,
    jwtSecret: config.jwtSecret,
    accessTtlSeconds: config.accessTtlSeconds,
    refreshTtlSeconds: config.refreshTtlSeconds,
    databaseAnswers: () => databaseAnswers(sql),
  });
  listen(app, { port: config.port, host: config.host, maxBodyBytes: config.bodyLimit, shutdownGraceMs: config.shutdownGraceMs }, log, async () => {
    await sql.end({ timeout: 5 });
    await runtime.tracer?.close();
  });
  log.info("ready", { url: `http://${config.host}:${app.server?.port}`, migrationsApplied: applied });
});

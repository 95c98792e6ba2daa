/**
 * The stack the end-to-end tests talk to: started once per `bun test` run, on the first
 * call, with real processes and a real PostgreSQL, and stopped after the last test.
 *   TEST_STACK_MODE=binary   run the compiled executables from dist/ instead of the sources
 *   TEST_DATABASE_URL=...    use that PostgreSQL instead of an embedded one
 *   TEST_PGBOUNCER=1         the services reach it through a real PgBouncer in transaction mode
 */
import { afterAll } from "bun:test";
import { resolve } from "node:path";
import { rmSync } from "node:fs";
import { freePort } from "../stack/free-port.ts";
import { startStack, type RunningStack } from "../stack/stack.ts";

export const TEST_JWT_SECRET = "test-secret-for-the-end-to-end-suite-0123456789";

/**
 * For the `beforeAll` that awaits `testStack()`: bun gives a hook 5 s, and four services and a
 * database starting on a busy 2-core machine can take longer; a timed-out hook has its
 * processes killed, which fails every suite after it.
 */
export const STACK_START_TIMEOUT_MS = 60_000;

let started: Promise<RunningStack> | null = null;

export function testStack(): Promise<RunningStack> {
  started ??= (async () => {
    const dataDir = resolve(import.meta.dir, "../../.data", `test-${process.pid}`);
    rmSync(dataDir, { recursive: true, force: true });
    return startStack({
      mode: process.env.TEST_STACK_MODE === "binary" ? "binary" : "source",
      databaseUrl: process.env.TEST_DATABASE_URL || undefined,
      dataDir,
      ephemeral: true,
      pgbouncer: process.env.TEST_PGBOUNCER === "1",
      databasePort: freePort(),
      ports: { gateway: freePort(), auth: freePort(), product: freePort(), order: freePort() },
      env: {
        JWT_SECRET: TEST_JWT_SECRET,
        LOG_LEVEL: "warn",
        // The suite logs in with wrong passwords on purpose; the limiter has its own tests.
        LOGIN_FAILURE_LIMIT: "100000",
        SNAPSHOT_REFRESH_MS: "500",
        // So the sweep of expired Idempotency-Keys can be seen within a test.
        ORDER_KEY_SWEEP_MS: "200",
      },
      // Quiet at warn level already; a test that reads a service's output starts a process of
      // its own (dev/testing/service-process.ts).
      log: () => {},
    });
  })();
  return started;
}

afterAll(async () => {
  if (started) await (await started).stop();
});

/** Brute force: failed logins are limited per email and per client address. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connectDatabase, type Sql } from "../lib/db.ts";
import { createLogger } from "../lib/log.ts";
import { createServiceMetrics } from "../lib/metrics.ts";
import { STACK_START_TIMEOUT_MS, testStack } from "../dev/testing/test-stack.ts";
import { uniqueEmail } from "../dev/testing/http.ts";
import { Accounts } from "./accounts.ts";
import { buildAuthApp } from "./app.ts";
import { ConcurrencyLimit } from "./concurrency-limit.ts";
import { LoginLimiter } from "./login-limiter.ts";
import { PasswordHasher } from "./password-hasher.ts";
import { Users } from "./users.ts";
import { useEndToEndTimeouts } from "../dev/testing/timeouts.ts";

useEndToEndTimeouts();

let sql: Sql;
let app: ReturnType<typeof buildAuthApp>;
beforeAll(async () => {
  sql = connectDatabase({ url: (await testStack()).databaseUrl, poolSize: 2, applicationName: "login-limit-test" });
  const users = new Users(sql);
  const log = createLogger("auth", "error");
  const hasher = new PasswordHasher({ memoryKib: 19_456, timeCost: 2 }, new ConcurrencyLimit(2, 32), () => {});
  app = buildAuthApp({
    accounts: new Accounts({ users, limiter: new LoginLimiter(3, 60_000), hasher, log, onShed: () => {} }),
    users,
    runtime: { log, metrics: createServiceMetrics("auth"), bodyLimit: 1 << 20, slowRequestMs: 1000, tracer: null },
    jwtSecret: "limit-test-secret-0123456789abcdef",
    accessTtlSeconds: 3600,
    refreshTtlSeconds: 86400,
    databaseAnswers: async () => true,
  });
}, STACK_START_TIMEOUT_MS);
afterAll(() => sql.end());

const post = (path: string, body: unknown, from = "203.0.113.7") =>
  app.handle(new Request(`http://auth.local${path}`, { method: "POST", headers: { "content-type": "application/json", "x-forwarded-for": from }, body: JSON.stringify(body) }));

test("after 3 failures for one email: 429 with Retry-After, even with the right password", async () => {
  const email = uniqueEmail("brute");
  expect((await post("/auth/register", { email, password: "password1", name: "Bee" })).status).toBe(201);
  expect((await post("/auth/login", { email, password: "password1" }, "198.51.100.1")).status).toBe(200);
  for (let i = 0; i < 3; i++) expect((await post("/auth/login", { email, password: "wrong-password" }, `198.51.100.${10 + i}`)).status).toBe(401);
  const limited = await post("/auth/login", { email, password: "password1" }, "198.51.100.99");
  expect(limited.status).toBe(429);
  expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(((await limited.json()) as { error: string }).error).toBe("RATE_LIMITED");
});

test("after 3 failures from one address: other emails from it are limited, other addresses are not", async () => {
  const email = uniqueEmail("other");
  expect((await post("/auth/register", { email, password: "password1", name: "Bee" })).status).toBe(201);
  for (let i = 0; i < 3; i++) expect((await post("/auth/login", { email: uniqueEmail("x"), password: "wrong-password" }, "192.0.2.50")).status).toBe(401);
  expect((await post("/auth/login", { email, password: "password1" }, "192.0.2.50")).status).toBe(429);
  expect((await post("/auth/login", { email, password: "password1" }, "192.0.2.51")).status).toBe(200);
});

test("the limiter forgets failures older than its window", () => {
  const limiter = new LoginLimiter(2, 1000);
  limiter.recordFailure("k", 0);
  limiter.recordFailure("k", 100);
  expect(limiter.retryAfter("k", 500)).toBe(1);
  expect(limiter.retryAfter("k", 1200)).toBe(0);
});

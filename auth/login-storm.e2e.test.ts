/**
 * A login storm against the real auth process: hashing costs what it is configured to, a
 * hash of another cost is redone at login, and past the hashing queue a login is a 503 with
 * Retry-After at once instead of a wait without bound.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { call, uniqueEmail } from "../dev/testing/http.ts";
import { startService, type ServiceProcess } from "../dev/testing/service-process.ts";
import { STACK_START_TIMEOUT_MS, TEST_JWT_SECRET, testStack } from "../dev/testing/test-stack.ts";
import { useEndToEndTimeouts } from "../dev/testing/timeouts.ts";

useEndToEndTimeouts();

let sql: postgres.Sql;
let authUrl = "";
beforeAll(async () => {
  const stack = await testStack();
  authUrl = stack.authUrl;
  sql = postgres(stack.databaseUrl, { max: 2, onnotice: () => {} });
}, STACK_START_TIMEOUT_MS);
afterAll(() => sql.end());

const storedHash = async (email: string) => ((await sql`select password_hash from auth.users where email = ${email}`)[0]?.password_hash ?? null) as string | null;

describe("the hash's cost", () => {
  test("a new password is stored as argon2id with 19 MiB and 2 passes", async () => {
    const email = uniqueEmail("cost");
    expect((await call(authUrl, "POST", "/auth/register", { body: { email, password: "password1", name: "Cost" } })).status).toBe(201);
    expect(await storedHash(email)).toStartWith("$argon2id$v=19$m=19456,t=2,p=1$");
  });

  const older: [string, (password: string) => Promise<string>][] = [
    ["argon2id at Bun's default cost (64 MiB)", (p) => Bun.password.hash(p, { algorithm: "argon2id" })],
    ["bcrypt", (p) => Bun.password.hash(p, { algorithm: "bcrypt", cost: 4 })],
  ];
  for (const [what, hash] of older)
    test(`a user stored with ${what} logs in, and the stored hash now has the new cost`, async () => {
      const email = uniqueEmail("rehash");
      const old = await hash("password1");
      await sql`insert into auth.users (email, password_hash, name) values (${email}, ${old}, 'Old Hash')`;
      expect((await call(authUrl, "POST", "/auth/login", { body: { email, password: "wrong-password" } })).status).toBe(401);
      expect(await storedHash(email)).toBe(old);
      expect((await call(authUrl, "POST", "/auth/login", { body: { email, password: "password1" } })).status).toBe(200);
      const now = await storedHash(email);
      expect(now).toStartWith("$argon2id$v=19$m=19456,t=2,p=1$");
      expect(await Bun.password.verify("password1", now!)).toBe(true);
      expect((await call(authUrl, "POST", "/auth/login", { body: { email, password: "password1" } })).status).toBe(200);
      expect(await storedHash(email)).toBe(now);
    });
});

describe("a login storm on an auth with one hash at a time and a queue of two", () => {
  let auth: ServiceProcess;
  beforeAll(async () => {
    const stack = await testStack();
    auth = await startService("auth", {
      DATABASE_URL: stack.databaseUrl,
      JWT_SECRET: TEST_JWT_SECRET,
      PASSWORD_HASH_CONCURRENCY: "1",
      PASSWORD_HASH_QUEUE: "2",
    });
  }, STACK_START_TIMEOUT_MS);
  afterAll(() => auth.stop());

  test("what the queue holds is served, the rest is 503 UNAVAILABLE with Retry-After at once, and counted", async () => {
    const email = uniqueEmail("storm");
    expect((await call(auth.url, "POST", "/auth/register", { body: { email, password: "password1", name: "Storm" } })).status).toBe(201);
    const logins = await Promise.all(
      Array.from({ length: 24 }, async () => {
        const began = performance.now();
        const res = await call(auth.url, "POST", "/auth/login", { body: { email, password: "password1" } });
        return { ...res, ms: performance.now() - began };
      }),
    );
    const ok = logins.filter((r) => r.status === 200);
    const shed = logins.filter((r) => r.status === 503);
    expect(ok.length + shed.length).toBe(logins.length);
    expect(ok.length).toBeGreaterThanOrEqual(3);
    expect(shed.length).toBeGreaterThan(0);
    for (const r of shed) {
      expect(r.body.error).toBe("UNAVAILABLE");
      expect(r.headers.get("retry-after")).toBe("1");
    }
    // Refused at once: no refusal waited as long as the slowest login that was served.
    expect(Math.max(...shed.map((r) => r.ms))).toBeLessThan(Math.max(...ok.map((r) => r.ms)));

    const metrics = await (await fetch(`${auth.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^auth_login_shed_total\\{[^}]*operation="login"[^}]*\\} ${shed.length}$`, "m"));
    const verified = Number(/^auth_password_hash_seconds_count\{[^}]*operation="verify"[^}]*\} (\d+)$/m.exec(metrics)?.[1]);
    expect(verified).toBe(ok.length);
    // And the storm leaves nothing behind: the next login is served.
    expect((await call(auth.url, "POST", "/auth/login", { body: { email, password: "password1" } })).status).toBe(200);
  });
});

/**
 * What every service executable does at the edges of its life: a bad setting ends it with
 * one clear line and a non-zero exit, and SIGTERM lets requests in flight finish.
 */
import { describe, expect, test } from "bun:test";
import postgres from "postgres";
import { freePort } from "./stack/free-port.ts";
import { call } from "./testing/http.ts";
import { spawnService, startService } from "./testing/service-process.ts";
import { testStack } from "./testing/test-stack.ts";

async function failsToStart(service: "auth" | "product" | "gateway", env: Record<string, string>) {
  const child = spawnService(service, env);
  const code = await Promise.race([child.exited, Bun.sleep(10_000).then(() => "still running")]);
  if (code === "still running") child.kill("SIGKILL");
  const stderr = await new Response(child.stderr).text();
  return { code, stderr: stderr.trim() };
}

describe("start-up failures: one line, exit 1, no stack trace", () => {
  const unreachable = `postgres://u:p@127.0.0.1:${freePort()}/db`;
  const cases: [string, "auth" | "product" | "gateway", Record<string, string>, RegExp][] = [
    ["no database reachable", "auth", { DATABASE_URL: unreachable }, /database is not reachable/],
    ["no database reachable", "product", { DATABASE_URL: unreachable }, /database is not reachable/],
    ["a malformed DATABASE_URL", "product", { DATABASE_URL: "mysql://nope" }, /DATABASE_URL must be a postgres/],
    ["no DATABASE_URL", "auth", { DATABASE_URL: "" }, /DATABASE_URL is not set/],
    ["a malformed upstream URL", "gateway", { PRODUCT_URL: "::not a url::" }, /PRODUCT_URL must be/],
    ["the development key in production", "gateway", { NODE_ENV: "production", JWT_SECRET: "" }, /JWT_SECRET must be set/],
    ["the development key in production", "auth", { NODE_ENV: "production", JWT_SECRET: "", DATABASE_URL: unreachable }, /JWT_SECRET must be set/],
    ["a port that is not a number", "gateway", { GATEWAY_PORT: "http" }, /GATEWAY_PORT must be an integer/],
  ];
  for (const [what, service, env, message] of cases)
    test(`${service}: ${what}`, async () => {
      const { code, stderr } = await failsToStart(service, env);
      expect(code).toBe(1);
      expect(stderr).toMatch(message);
      expect(stderr.split("\n")).toHaveLength(1);
      expect(stderr).not.toMatch(/\bat .*:\d+|node_modules/);
    });

  test("gateway: a port already in use", async () => {
    const taken = Bun.listen({ hostname: "0.0.0.0", port: 0, socket: { data() {} } });
    try {
      const { code, stderr } = await failsToStart("gateway", { GATEWAY_PORT: String(taken.port) });
      expect(code).toBe(1);
      expect(stderr).toMatch(/already in use/);
    } finally {
      taken.stop(true);
    }
  });

  test("--help prints the settings and exits 0", async () => {
    const child = spawnService("product", {}, ["--help"]);
    expect(await child.exited).toBe(0);
    expect(await new Response(child.stdout).text()).toContain("PRODUCT_PORT");
  });
});

describe("graceful shutdown", () => {
  test("SIGTERM with requests in flight: every one is answered, then exit 0", async () => {
    const stack = await testStack();
    const sql = postgres(stack.databaseUrl, { max: 1, onnotice: () => {} });
    const product = await startService("product", { ...stack.databaseEnv, SHUTDOWN_GRACE_MS: "5000" });
    const [row] = await sql`insert into product.products (name, price, stock) values ('shutdown test', 1, 1) returning id`;
    // Hold the table so that reads by id wait in the database: they are surely in flight.
    const lock = await sql.reserve();
    await lock`begin`;
    await lock`lock table product.products in access exclusive mode`;
    const inFlight = Array.from({ length: 20 }, () => call(product.url, "GET", `/products/${row!.id}`).then((r) => r.status, (e) => String(e)));
    await Bun.sleep(300);
    product.process.kill("SIGTERM");
    await Bun.sleep(300);
    expect(product.process.exitCode).toBeNull();
    await lock`rollback`;
    lock.release();
    expect(await Promise.all(inFlight)).toEqual(Array(20).fill(200));
    expect(await product.process.exited).toBe(0);
    await sql.end();
  });
});

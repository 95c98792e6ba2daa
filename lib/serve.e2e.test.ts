/**
 * What every service executable does at the edges of its life: a bad setting ends it with
 * one clear line and a non-zero exit, and SIGTERM lets requests in flight finish.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import postgres from "postgres";
import { closedPort, freePort } from "../dev/stack/free-port.ts";
import { call } from "../dev/testing/http.ts";
import { SERVICES, serviceCommand, type ServiceName } from "../dev/stack/stack.ts";
import { spawnService, startService, testMode } from "../dev/testing/service-process.ts";
import { testStack } from "../dev/testing/test-stack.ts";
import { useEndToEndTimeouts } from "../dev/testing/timeouts.ts";

useEndToEndTimeouts();

async function failsToStart(service: "auth" | "product" | "gateway", env: Record<string, string>) {
  const child = spawnService(service, env);
  const code = await Promise.race([child.exited, Bun.sleep(10_000).then(() => "still running")]);
  if (code === "still running") child.kill("SIGKILL");
  const stderr = await new Response(child.stderr).text();
  return { code, stderr: stderr.trim() };
}

describe("start-up failures: one line, exit 1, no stack trace", () => {
  const unreachable = `postgres://u:p@127.0.0.1:${closedPort()}/db`;
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

describe("flags", () => {
  const version = (require("../package.json") as { version: string }).version;
  for (const service of SERVICES) {
    test(`${service}: an unknown flag is refused with one line and exit 2, before anything starts`, async () => {
      const child = spawnService(service, { DATABASE_URL: "", [`${service.toUpperCase()}_PORT`]: String(freePort()) }, ["--verison"]);
      const code = await Promise.race([child.exited, Bun.sleep(10_000).then(() => "still running")]);
      if (code === "still running") child.kill("SIGKILL");
      const stderr = (await new Response(child.stderr).text()).trim();
      expect(code).toBe(2);
      expect(stderr).toBe(`${service}: unknown option "--verison"; options: --help, --version, --healthcheck (settings come from the environment: ${service} --help)`);
    });

    test(`${service}: --version prints the package's version`, async () => {
      const child = spawnService(service, { DATABASE_URL: "", [`${service.toUpperCase()}_PORT`]: String(freePort()) }, ["--version"]);
      expect(await child.exited).toBe(0);
      expect((await new Response(child.stdout).text()).trim()).toBe(version);
    });
  }

  test("bun start: an unknown flag is refused, --version prints the version", async () => {
    const start = (arg: string) => Bun.spawn([process.execPath, "dev/stack/start.ts", arg], { cwd: resolve(import.meta.dir, ".."), stdout: "pipe", stderr: "pipe", env: { ...process.env, DATABASE_URL: "postgres://u:p@127.0.0.1:1/none", GATEWAY_PORT: String(freePort()) } });
    const unknown = start("--bianry");
    const code = await Promise.race([unknown.exited, Bun.sleep(10_000).then(() => "still running")]);
    if (code === "still running") unknown.kill("SIGTERM");
    expect(code).toBe(2);
    expect((await new Response(unknown.stderr).text()).trim()).toBe('bun start: unknown option "--bianry"; options: --binary, --help, --version');
    const v = start("--version");
    expect(await v.exited).toBe(0);
    expect((await new Response(v.stdout).text()).trim()).toBe(version);
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

describe("health checks: each service checks itself", () => {
  const services = SERVICES;
  /** A service on a free port; every other service's port is one nothing listens on, as in a container of its own. */
  async function alone(service: ServiceName) {
    const stack = await testStack();
    const env: Record<string, string> = { DATABASE_URL: stack.databaseUrl, AUTH_URL: stack.authUrl, PRODUCT_URL: stack.productUrl, ORDER_URL: stack.orderUrl };
    for (const other of services) env[`${other.toUpperCase()}_PORT`] = String(freePort());
    const running = await startService(service, env);
    return { running, env: { ...env, [`${service.toUpperCase()}_PORT`]: String(running.port) } };
  }
  const exitOf = async (command: string[], env: Record<string, string>) => {
    const child = Bun.spawn(command, { env: { ...process.env, ...env }, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    return child.exited;
  };

  for (const service of services)
    test(`${service}: --healthcheck asks its own port: 0 while it serves there, 1 on a port where nothing does`, async () => {
      const { running, env } = await alone(service);
      try {
        expect(await exitOf([...serviceCommand(service, testMode()), "--healthcheck"], env)).toBe(0);
        expect(await exitOf([...serviceCommand(service, testMode()), "--healthcheck"], { ...env, [`${service.toUpperCase()}_PORT`]: String(freePort()) })).toBe(1);
      } finally {
        await running.stop();
      }
    });

  // The image's HEALTHCHECK runs the container's pid 1; here that process is the service's pid.
  const healthcheck = /^HEALTHCHECK .* CMD (\[.*\])$/m.exec(readFileSync(resolve(import.meta.dir, "../Dockerfile"), "utf8"));
  for (const service of services)
    test.skipIf(testMode() !== "binary")(`${service}: the Dockerfile's HEALTHCHECK, run beside the executable, says healthy`, async () => {
      expect(healthcheck).not.toBeNull();
      const { running, env } = await alone(service);
      try {
        const command = (JSON.parse(healthcheck![1]!) as string[]).map((part) => part.replace(/^\/proc\/1\//, `/proc/${running.process.pid}/`).replace(/^\/app\//, `${resolve(import.meta.dir, "../dist")}/`));
        expect(await exitOf(command, env)).toBe(0);
      } finally {
        await running.stop();
      }
    });
});

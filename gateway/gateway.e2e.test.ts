/**
 * The gateway as a client sees it. Most tests use a gateway process of their own in front of
 * an echo upstream, to see exactly what reaches a service; some use the full stack.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { jwt } from "@elysiajs/jwt";
import { Elysia } from "elysia";
import { closedPort } from "../dev/stack/free-port.ts";
import { call, expectError, registerAndLogin } from "../dev/testing/http.ts";
import { startService, type ServiceProcess } from "../dev/testing/service-process.ts";
import { TEST_JWT_SECRET, STACK_START_TIMEOUT_MS, testStack } from "../dev/testing/test-stack.ts";
import { useEndToEndTimeouts } from "../dev/testing/timeouts.ts";

useEndToEndTimeouts();

const signer = new Elysia().use(jwt({ name: "jwt", secret: TEST_JWT_SECRET, alg: "HS256" })).decorator.jwt;
const USER = "0b7a0d3e-8f0a-4b8e-9a0e-2f1e5c3d4b5a";
const accessToken = (extra: Record<string, string | number> = {}) => signer.sign({ sub: USER, type: "access", exp: Math.floor(Date.now() / 1000) + 600, ...extra });

/** Answers every request with what it received. */
const echo = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    const url = new URL(req.url);
    if (url.pathname === "/products/slow") await Bun.sleep(2000);
    if (url.pathname === "/products/sluggish") await Bun.sleep(300);
    return Response.json(
      { method: req.method, path: url.pathname, search: url.search, headers: Object.fromEntries(req.headers), body: await req.text() },
      { status: url.pathname === "/products/teapot" ? 418 : 200, headers: { "x-upstream": "echo", "set-cookie": "a=1" } },
    );
  },
});

let gateway: ServiceProcess;
beforeAll(async () => {
  gateway = await startService("gateway", {
    JWT_SECRET: TEST_JWT_SECRET,
    PRODUCT_URL: `http://127.0.0.1:${echo.port}`,
    AUTH_URL: `http://127.0.0.1:${closedPort()}`,
    UPSTREAM_TIMEOUT_MS: "500",
    BODY_LIMIT_BYTES: "10000",
    SLOW_REQUEST_MS: "200",
  });
}, STACK_START_TIMEOUT_MS);
afterAll(async () => {
  await gateway?.stop();
  echo.stop(true);
});

describe("gateway in front of an echo upstream", () => {
  test("GET /health is the gateway's own", async () => {
    expect((await call(gateway.url, "GET", "/health")).body).toEqual({ status: "healthy", service: "gateway" });
  });

  test("forwards method, path, query and body as they are", async () => {
    const token = await accessToken();
    const res = await call(gateway.url, "PATCH", "/products/abc/stock?x=1&y=%20z", { token, raw: '{"delta": -1}' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ method: "PATCH", path: "/products/abc/stock", search: "?x=1&y=%20z", body: '{"delta": -1}' });
  });

  test("sets X-User-ID for a verified caller and drops a client-sent one, on public routes too", async () => {
    const token = await accessToken();
    const spoof = { "x-user-id": "attacker", "X-Forwarded-For": "6.6.6.6" };
    const anonymous = await call(gateway.url, "GET", "/products/deals", { headers: spoof });
    expect(anonymous.body.headers["x-user-id"]).toBeUndefined();
    expect(anonymous.body.headers["x-forwarded-for"]).toBe("127.0.0.1");
    const verified = await call(gateway.url, "POST", "/products", { token, headers: spoof, body: {} });
    expect(verified.body.headers["x-user-id"]).toBe(USER);
    const publicWithToken = await call(gateway.url, "GET", "/products", { token, headers: spoof });
    expect(publicWithToken.body.headers["x-user-id"]).toBe(USER);
  });

  test("drops hop-by-hop headers and keeps the others", async () => {
    const res = await call(gateway.url, "GET", "/products", { headers: { "x-custom": "kept", "proxy-authorization": "secret", te: "trailers" } });
    expect(res.body.headers["x-custom"]).toBe("kept");
    expect(res.body.headers["proxy-authorization"]).toBeUndefined();
    expect(res.body.headers.te).toBeUndefined();
  });

  test("passes the upstream's status and headers through", async () => {
    const res = await call(gateway.url, "GET", "/products/teapot");
    expect(res.status).toBe(418);
    expect(res.headers.get("x-upstream")).toBe("echo");
    expect(res.headers.get("set-cookie")).toBe("a=1");
  });

  test("X-Request-ID: a sane one is kept and passed upstream, others are replaced", async () => {
    const kept = await call(gateway.url, "GET", "/products", { headers: { "x-request-id": "abc-123" } });
    expect(kept.headers.get("x-request-id")).toBe("abc-123");
    expect(kept.body.headers["x-request-id"]).toBe("abc-123");
    for (const bad of ["has space", "x".repeat(200), "<script>"]) {
      const res = await call(gateway.url, "GET", "/products", { headers: { "x-request-id": bad } });
      const id = res.headers.get("x-request-id")!;
      expect(id).not.toBe(bad);
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.body.headers["x-request-id"]).toBe(id);
    }
    const fresh = await call(gateway.url, "GET", "/nope");
    expect(fresh.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("protected routes: 401 UNAUTHORIZED without a token, INVALID_TOKEN with a bad one", async () => {
    expectError(await call(gateway.url, "POST", "/products", { body: {} }), 401, "UNAUTHORIZED");
    expectError(await call(gateway.url, "POST", "/products", { body: {}, headers: { authorization: "Basic abc" } }), 401, "UNAUTHORIZED");
    expectError(await call(gateway.url, "POST", "/products", { body: {}, token: "x.y.z" }), 401, "INVALID_TOKEN");
    expectError(await call(gateway.url, "POST", "/products", { body: {}, token: await accessToken({ type: "refresh" }) }), 401, "INVALID_TOKEN");
    expectError(await call(gateway.url, "POST", "/products", { body: {}, token: await accessToken({ exp: Math.floor(Date.now() / 1000) - 1 }) }), 401, "INVALID_TOKEN");
  });

  test("unknown paths are 404 NOT_FOUND from the gateway", async () => {
    for (const path of ["/", "/nope", "/productsx", "/admin/products"]) expectError(await call(gateway.url, "GET", path), 404, "NOT_FOUND");
  });

  test("a body over the limit is 413, declared or streamed", async () => {
    const token = await accessToken();
    expectError(await call(gateway.url, "POST", "/products", { token, raw: "x".repeat(20_000) }), 413, "PAYLOAD_TOO_LARGE");
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 30; i++) c.enqueue(new Uint8Array(1000));
        c.close();
      },
    });
    const res = await fetch(`${gateway.url}/products`, { method: "POST", body: stream, headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toBe("PAYLOAD_TOO_LARGE");
  });

  test("an upstream nobody listens on: 502 BAD_GATEWAY at once", async () => {
    const started = Date.now();
    expectError(await call(gateway.url, "POST", "/auth/login", { body: { email: "a@b.co", password: "x" } }), 502, "BAD_GATEWAY");
    expect(Date.now() - started).toBeLessThan(500);
  });

  test("a request slower than SLOW_REQUEST_MS gets one warn line with its request id; a fast one none", async () => {
    expect((await call(gateway.url, "GET", "/products/fast", { headers: { "x-request-id": "fast-1" } })).status).toBe(200);
    expect((await call(gateway.url, "GET", "/products/sluggish", { headers: { "x-request-id": "sluggish-1" } })).status).toBe(200);
    await Bun.sleep(100);
    const lines = gateway.output().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
    const slow = lines.filter((l) => l.msg === "slow request");
    expect(slow.map((l) => ({ level: l.level, requestId: l.requestId, route: l.route, status: l.status }))).toEqual([{ level: "warn", requestId: "sluggish-1", route: "/products/{id}", status: 200 }]);
    expect(slow[0].ms).toBeGreaterThanOrEqual(290);
    expect(lines.some((l) => l.requestId === "fast-1")).toBe(false);
  });

  test("a slow upstream: 504 GATEWAY_TIMEOUT after the configured time", async () => {
    const started = Date.now();
    expectError(await call(gateway.url, "GET", "/products/slow"), 504, "GATEWAY_TIMEOUT");
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  test("a Host header of 3 characters or fewer still routes", async () => {
    for (const host of ["gw", "a", "gw:1"]) {
      const socket = await Bun.connect({ hostname: "127.0.0.1", port: gateway.port, socket: { data(s, d) { (s.data as string[]).push(d.toString()); } }, data: [] as string[] });
      socket.write(`GET /products/deals HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      await Bun.sleep(100);
      const text = (socket.data as string[]).join("");
      socket.end();
      expect(text).toStartWith("HTTP/1.1 200");
      expect(text).toContain('"path":"/products/deals"');
    }
  });
});

describe("gateway in the full stack", () => {
  let gw = "";
  beforeAll(async () => {
    gw = (await testStack()).gatewayUrl;
  });

  test("health of every service through the gateway", async () => {
    expect((await call(gw, "GET", "/auth/health")).body).toEqual({ status: "healthy", service: "auth-service" });
    expect((await call(gw, "GET", "/products/health")).body).toEqual({ status: "healthy", service: "product-service" });
  });

  test("a client-sent X-User-ID never reaches auth: /me is the token's user", async () => {
    const alice = await registerAndLogin(gw, "alice");
    const bob = await registerAndLogin(gw, "bob");
    const me = await call(gw, "GET", "/auth/users/me", { token: alice.access, headers: { "x-user-id": bob.id } });
    expect(me.body.id).toBe(alice.id);
  });

  test("upstream errors pass through unchanged", async () => {
    const user = await registerAndLogin(gw, "passthrough");
    const res = await call(gw, "GET", "/products/00000000-0000-0000-0000-000000000000", { token: user.access });
    expectError(res, 404, "NOT_FOUND");
    expect(res.body.message).toBe("No such product");
  });
});

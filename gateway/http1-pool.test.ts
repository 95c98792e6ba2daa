import { afterAll, describe, expect, test } from "bun:test";
import { freePort } from "../lib/stack/free-port.ts";
import { Http1Pool, UpstreamError } from "./http1-pool.ts";

const request = (path: string) => Buffer.from(`GET ${path} HTTP/1.1\r\nhost: test\r\ncontent-length: 0\r\n\r\n`, "latin1");
const options = { maxConnections: 4, timeoutMs: 300, connectTimeoutMs: 500, idleMs: 10_000 };

const big = "x".repeat(300_000);
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    const path = new URL(req.url).pathname;
    if (path === "/slow") await Bun.sleep(1000);
    if (path === "/chunked")
      return new Response(
        new ReadableStream({
          async start(c) {
            c.enqueue(new TextEncoder().encode("hello "));
            await Bun.sleep(5);
            c.enqueue(new TextEncoder().encode("world"));
            c.close();
          },
        }),
      );
    if (path === "/big") return new Response(big);
    if (path === "/none") return new Response(null, { status: 204 });
    return new Response(`you asked ${path}`, { headers: { "x-thing": "1" } });
  },
});
afterAll(() => server.stop(true));

describe("Http1Pool", () => {
  const pool = new Http1Pool("127.0.0.1", server.port!, options);

  test("reads a response and keeps the connection for the next one", async () => {
    for (let i = 0; i < 5; i++) {
      const res = await pool.request(request(`/n${i}`), false);
      expect(res.status).toBe(200);
      expect(new TextDecoder().decode(res.body!)).toBe(`you asked /n${i}`);
      expect(res.headers).toContainEqual(["x-thing", "1"]);
    }
    expect(pool.size).toBe(1);
  });

  test("never opens more than maxConnections; the rest wait their turn", async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.request(request(`/c${i}`), false)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(pool.size).toBeLessThanOrEqual(4);
  });

  test("decodes a chunked body", async () => {
    const res = await pool.request(request("/chunked"), false);
    expect(new TextDecoder().decode(res.body!)).toBe("hello world");
  });

  test("reads a body that arrives in many packets", async () => {
    const res = await pool.request(request("/big"), false);
    expect(res.body!.length).toBe(big.length);
  });

  test("a 204 has no body and the connection stays usable", async () => {
    expect((await pool.request(request("/none"), false)).status).toBe(204);
    expect((await pool.request(request("/after"), false)).status).toBe(200);
  });

  test("a slow upstream is a timeout", async () => {
    const started = Date.now();
    const error = await pool.request(request("/slow"), false).catch((e) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.kind).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(800);
  });

  test("a port nobody listens on is refused, at once", async () => {
    const dead = new Http1Pool("127.0.0.1", freePort(), options);
    const started = Date.now();
    const error = await dead.request(request("/"), false).catch((e) => e);
    expect(error.kind).toBe("refused");
    expect(error.maybeProcessed).toBe(false);
    expect(Date.now() - started).toBeLessThan(200);
  });
});

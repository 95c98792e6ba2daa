/**
 * A real gateway process against clients that never read: its memory stays bounded (the
 * global cap on bytes waiting for clients drops the largest holders), and clients that do
 * read are served meanwhile.
 */
import { afterAll, expect, test } from "bun:test";
import { resolve } from "node:path";
import { freePort } from "../dev/stack/free-port.ts";
import { waitHealthy } from "../dev/stack/stack.ts";
import { RawClient } from "./testing/raw-client.ts";
import { useEndToEndTimeouts } from "../dev/testing/timeouts.ts";

useEndToEndTimeouts();

const PAGE = JSON.stringify({ items: Array.from({ length: 100 }, (_, i) => ({ id: i, description: "d".repeat(3000) })) });
const upstream = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: (req) => new Response(new URL(req.url).searchParams.get("size") === "100" ? PAGE : "{}", { headers: { "content-type": "application/json", "x-request-id": req.headers.get("x-request-id")! } }),
});
const port = freePort();
const adminPort = freePort();
const gateway = Bun.spawn([process.execPath, resolve(import.meta.dir, "main.ts")], {
  env: {
    ...process.env,
    GATEWAY_PORT: String(port),
    GATEWAY_HOST: "127.0.0.1",
    GATEWAY_ADMIN_PORT: String(adminPort),
    PRODUCT_URL: `http://127.0.0.1:${upstream.port}`,
    AUTH_URL: `http://127.0.0.1:${upstream.port}`,
    LOG_LEVEL: "error",
    EXIT_WITH_PARENT: "1",
  },
  stdout: "ignore",
  stderr: "inherit",
});
afterAll(async () => {
  gateway.kill();
  await gateway.exited;
  upstream.stop(true);
});

const rssMb = async () => {
  const status = await Bun.file(`/proc/${gateway.pid}/status`).text();
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
};

test("64 clients that pipeline 21 requests for a 300 KB page and never read: gateway RSS stays bounded, others are served", async () => {
  await waitHealthy(`http://127.0.0.1:${port}`, gateway);
  const get = "GET /products?page=1&size=100 HTTP/1.1\r\nHost: gw\r\n\r\n";
  // Warm up, so the baseline includes what serving costs anyway.
  for (let i = 0; i < 3; i++) {
    const c = await RawClient.open(port);
    c.write(get.repeat(4));
    await c.read(4, [], 10_000);
    c.close();
  }
  const before = await rssMb();
  const hogs = await Promise.all(Array.from({ length: 64 }, () => RawClient.open(port)));
  for (const h of hogs) {
    h.socket.pause();
    h.write(get.repeat(21));
  }
  let peak = before;
  let peakBuffered = 0;
  for (let i = 0; i < 30; i++) {
    await Bun.sleep(100);
    peak = Math.max(peak, await rssMb());
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    peakBuffered = Math.max(peakBuffered, Number(/^gateway_buffered_bytes\{[^}]*\} (\d+)/m.exec(metrics)![1]));
  }
  expect(peakBuffered).toBeLessThanOrEqual(64 * 1024 * 1024 + 1024 * 1024);
  // A client that reads is served while they hold on.
  const reader = await RawClient.open(port);
  reader.write(get);
  expect((await reader.read(1, [], 10_000))[0]!.status).toBe(200);
  // 6 MiB owed to each, 400 MiB in all, which the gateway held for good before (RSS +390 MB
  // here): what waits is capped at 64 MiB; the rest is the answers already asked for, which
  // arrive and are dropped, and what the collector has not given back yet.
  console.log(`gateway RSS ${before.toFixed(0)} MB before, ${peak.toFixed(0)} MB at peak; at most ${(peakBuffered / 1048576).toFixed(1)} MiB waiting`);
  expect(peak - before).toBeLessThan(256);
  for (const h of hogs) h.socket.terminate();
}, 60_000);

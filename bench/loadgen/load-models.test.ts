/**
 * The generator against small servers whose behaviour is known, so its figures can be
 * checked: statuses counted as they came, the user count of a closed model respected, and a
 * stall in the server visible in an open model's latencies (no coordinated omission).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { startLoad } from "./coordinator.ts";

let stallUntil = 0;
// /orders: the subject of each request's token, and a stock that runs out
const subjects: string[] = [];
const perConnection = new Map<string, Set<string>>();
let stock = 0;
let concurrent = 0;
let peakConcurrent = 0;
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    const path = new URL(req.url).pathname;
    concurrent++;
    peakConcurrent = Math.max(peakConcurrent, concurrent);
    try {
      if (path === "/stall" && Date.now() < stallUntil) await Bun.sleep(stallUntil - Date.now());
      if (path === "/slow") await Bun.sleep(20);
      if (path === "/unavailable") return new Response("no", { status: 503 });
      if (path === "/orders") {
        const token = req.headers.get("authorization")!.slice("Bearer ".length);
        const sub = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).sub as string;
        subjects.push(sub);
        const from = String(server.requestIP(req)?.port);
        perConnection.set(from, (perConnection.get(from) ?? new Set()).add(sub));
        expect(await req.json()).toEqual({ items: [{ quantity: 1 }] });
        if (stock <= 0) return Response.json({ error: "INSUFFICIENT_STOCK", message: "sold out" }, { status: 400 });
        stock--;
        return Response.json({ status: "confirmed" }, { status: 201 });
      }
      return new Response("x".repeat(1000));
    } finally {
      concurrent--;
    }
  },
});
afterAll(() => server.stop(true));

const spec = (path: string) => ({ hostname: "127.0.0.1", port: server.port!, requests: [{ weight: 1, method: "GET" as const, path }], timeoutMs: 5000 });

describe("load generator", () => {
  test("counts each status as it came, and 4xx/5xx as errors", async () => {
    const load = startLoad(
      { ...spec("/ok"), requests: [{ weight: 1, method: "GET", path: "/ok" }, { weight: 1, method: "GET", path: "/unavailable" }], closed: { users: { start: 4, stages: [{ durationMs: 500, target: 4 }] }, thinkMs: 5 } },
      2,
    );
    const r = await load.result;
    expect(r.requests).toBeGreaterThan(50);
    expect((r.outcomes["200"] ?? 0) + (r.outcomes["503"] ?? 0)).toBe(r.requests);
    expect(r.outcomes["503"]).toBe(r.errors);
    expect(r.errors / r.requests).toBeGreaterThan(0.3);
    expect(r.errors / r.requests).toBeLessThan(0.7);
    expect(r.timeline.reduce((s, i) => s + i.requests, 0)).toBe(r.requests);
    expect(r.histogram.totalCount).toBe(r.requests);
  });

  test("a closed model never has more requests in flight than users", async () => {
    peakConcurrent = 0;
    const r = await startLoad({ ...spec("/slow"), closed: { users: { start: 6, stages: [{ durationMs: 600, target: 6 }] }, thinkMs: 0 } }, 2).result;
    expect(peakConcurrent).toBe(6);
    // 6 users, 20 ms per request, 600 ms: at most 6 * 30 requests, and well over half of that
    expect(r.requests).toBeLessThanOrEqual(6 * 31);
    expect(r.requests).toBeGreaterThan(6 * 12);
  });

  const order = { weight: 1, method: "POST" as const, path: "/orders", body: JSON.stringify({ items: [{ quantity: 1 }] }), perUser: true };
  const secret = "load-model-test-secret-0123456789abcdef";

  test("open model with per-user requests: every request another user; expected refusals are no errors; send times per outcome", async () => {
    subjects.length = 0;
    stock = 150;
    const r = await startLoad({ ...spec("/orders"), requests: [order], secret, expected: ["400 INSUFFICIENT_STOCK"], open: { rate: { start: 400, stages: [{ durationMs: 1000, target: 400 }] }, maxConnections: 4, lateMs: 10, drainMs: 2000 } }, 2).result;
    expect(r.requests).toBe(400);
    expect(new Set(subjects).size).toBe(400);
    expect(r.outcomes).toEqual({ "201": 150, "400 INSUFFICIENT_STOCK": 250 });
    expect(r.errors).toBe(0);
    expect(r.timeline.reduce((s, i) => s + i.created, 0)).toBe(150);
    // One server answering in turn: every confirmed order was sent before the first refusal.
    const [firstConfirmed, lastConfirmed] = r.sent["201"]!;
    const [firstRefused] = r.sent["400 INSUFFICIENT_STOCK"]!;
    expect(firstConfirmed).toBeLessThanOrEqual(lastConfirmed);
    expect(lastConfirmed).toBeLessThan(firstRefused);
    expect(Math.abs(firstConfirmed - (performance.timeOrigin + performance.now()))).toBeLessThan(5000);
  });

  test("closed model with per-user requests: each virtual user keeps a user of its own", async () => {
    subjects.length = 0;
    perConnection.clear();
    stock = 1e9;
    const r = await startLoad({ ...spec("/orders"), requests: [order], secret, closed: { users: { start: 6, stages: [{ durationMs: 500, target: 6 }] }, thinkMs: 5 } }, 2).result;
    expect(r.errors).toBe(0);
    expect(r.requests).toBeGreaterThan(60);
    expect(new Set(subjects).size).toBe(6);
    // a virtual user keeps its connection, so each connection saw one user
    for (const subs of perConnection.values()) expect(subs.size).toBe(1);
  });

  test("open model: a stalled server shows in the latencies of every request due meanwhile", async () => {
    // 200 req/s for 1.5 s on one connection; the server answers nothing for 400 ms at 0.5 s.
    const load = startLoad({ ...spec("/stall"), open: { rate: { start: 200, stages: [{ durationMs: 1500, target: 200 }] }, maxConnections: 1, lateMs: 10, drainMs: 2000 } }, 1);
    const startAt = await load.started;
    setTimeout(() => (stallUntil = Date.now() + 400), Math.max(0, startAt + 500 - Date.now()));
    const r = await load.result;
    expect(r.errors).toBe(0);
    expect(r.scheduled).toBe(300);
    expect(r.requests).toBe(300);
    // Requests due during the stall waited for the one connection: each latency counts from
    // when it was due. A generator that measured from the send would report one slow request.
    // (the 40 requests due in the last 200 ms of the stall alone each waited over 100 ms)
    expect(r.histogram.getValueAtPercentile(100 - (100 * 40) / 300) / 1000).toBeGreaterThanOrEqual(100);
    expect(r.histogram.maxValue / 1000).toBeGreaterThanOrEqual(350);
    expect(r.late).toBeGreaterThanOrEqual(40);
    expect(r.dropped).toBe(0);
  });
});

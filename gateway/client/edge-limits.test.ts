/**
 * The edge's limits on raw sockets: timeouts for a head, a body and a client that reads
 * nothing; connection caps; shedding past the in-flight cap; rate limits on protected writes.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { EdgeLimits } from "./edge-limits.ts";
import { startEdgeFixture } from "../testing/edge-fixture.ts";
import { RawClient } from "../testing/raw-client.ts";

const limited: string[] = [];
const gw = startEdgeFixture({
  secret: "edge-limits-test-key",
  bodyLimit: 64 * 1024,
  timeoutMs: 5000,
  rateLimits: { subjectPerSecond: 1, subjectBurst: 2, addressPerSecond: 1, addressBurst: 4 },
  onRateLimited: (limit) => void limited.push(limit),
  async upstream(req) {
    const delay = Number(new URL(req.url).searchParams.get("delay") ?? 0);
    if (delay) await Bun.sleep(delay);
    if (req.method !== "GET") await req.text();
    const size = Number(new URL(req.url).searchParams.get("size") ?? 0);
    if (size) return new Response("x".repeat(size), { headers: { "x-request-id": req.headers.get("x-request-id")! } });
    return Response.json({ ok: true }, { status: req.method === "POST" ? 201 : 200, headers: { "x-request-id": req.headers.get("x-request-id")! } });
  },
});
const { tokenOf } = gw;
const start = (limits: Partial<EdgeLimits>) => gw.start({ limits });
afterAll(() => gw.stop());

const get = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: gw\r\n${extra}\r\n`;

async function closedWithin(client: RawClient, ms: number): Promise<number> {
  const started = Date.now();
  while (!client.closed && Date.now() - started < ms) await Bun.sleep(20);
  return client.closed ? Date.now() - started : -1;
}

describe("timeouts", () => {
  test("a head not complete in GATEWAY_HEAD_TIMEOUT_MS: closed", async () => {
    const edge = start({ headTimeoutMs: 300 });
    const slow = await RawClient.open(edge.port);
    slow.write("GET /products/deals HTTP/1.1\r\nHost: gw\r\n");
    const took = await closedWithin(slow, 3000);
    expect(took).toBeGreaterThan(200);
    expect(took).toBeLessThan(1500);
    // A head that arrives in time is served on another connection meanwhile.
    const ok = await RawClient.open(edge.port);
    ok.write(get("/products/deals"));
    expect((await ok.read(1))[0]!.status).toBe(200);
  });

  test("a body that stops for GATEWAY_BODY_TIMEOUT_MS: closed", async () => {
    const edge = start({ bodyTimeoutMs: 300 });
    const token = await tokenOf("body-timeout");
    const slow = await RawClient.open(edge.port);
    slow.write(`POST /products HTTP/1.1\r\nHost: gw\r\nauthorization: Bearer ${token}\r\ncontent-length: 100\r\n\r\n{"a":`);
    const took = await closedWithin(slow, 3000);
    expect(took).toBeGreaterThan(200);
    expect(took).toBeLessThan(1500);
  });

  test("a client that reads nothing of a large answer: closed after GATEWAY_SEND_TIMEOUT_MS", async () => {
    const edge = start({ sendTimeoutMs: 500 });
    const client = await RawClient.open(edge.port);
    client.socket.pause();
    // More than the sockets' buffers hold.
    client.write(Array.from({ length: 16 }, () => get("/products/deals?size=400000")).join(""));
    const took = await closedWithin(client, 5000);
    expect(took).toBeGreaterThan(0);
  });
});

describe("connection caps", () => {
  test("past GATEWAY_MAX_CONNECTIONS_PER_ADDRESS: 503 and closed at once; the connections open keep being served", async () => {
    const edge = start({ maxConnectionsPerAddress: 3 });
    const open = await Promise.all([0, 1, 2].map(() => RawClient.open(edge.port)));
    await Bun.sleep(50);
    const refused = await RawClient.open(edge.port);
    const [answer] = await refused.read(1);
    expect(answer!.status).toBe(503);
    expect(JSON.parse(answer!.body).error).toBe("UNAVAILABLE");
    expect(answer!.headers["retry-after"]).toBe("1");
    await refused.waitClosed();
    for (const c of open) c.write(get("/products/deals"));
    for (const c of open) expect((await c.read(1))[0]!.status).toBe(200);
    expect(edge.stats().shed.connections).toBe(1);
    // One closes: a new one is taken again.
    open[0]!.close();
    await Bun.sleep(100);
    const again = await RawClient.open(edge.port);
    again.write(get("/products/deals"));
    expect((await again.read(1))[0]!.status).toBe(200);
  });

  test("past GATEWAY_MAX_CONNECTIONS: the same", async () => {
    const edge = start({ maxConnections: 2 });
    await Promise.all([0, 1].map(() => RawClient.open(edge.port)));
    await Bun.sleep(50);
    const refused = await RawClient.open(edge.port);
    expect((await refused.read(1))[0]!.status).toBe(503);
  });
});

describe("overload", () => {
  test("past GATEWAY_MAX_IN_FLIGHT: 503 UNAVAILABLE with Retry-After at once, in order; the admitted ones are served", async () => {
    const edge = start({ maxInFlight: 3 });
    const clients = await Promise.all(Array.from({ length: 8 }, () => RawClient.open(edge.port)));
    const started = Date.now();
    for (const c of clients) c.write(get("/products/deals?delay=400"));
    const answers = await Promise.all(clients.map(async (c) => ({ a: (await c.read(1))[0]!, at: Date.now() - started })));
    const served = answers.filter((x) => x.a.status === 200);
    const shed = answers.filter((x) => x.a.status === 503);
    expect(served.length).toBe(3);
    expect(shed.length).toBe(5);
    for (const s of shed) {
      expect(s.at).toBeLessThan(300);
      expect(s.a.headers["retry-after"]).toBe("1");
      expect(s.a.headers["x-request-id"]).toBeTruthy();
      expect(JSON.parse(s.a.body).error).toBe("UNAVAILABLE");
    }
    expect(edge.stats().shed.overload).toBe(5);
    // Capacity back: served again.
    clients[0]!.write(get("/products/deals"));
    expect((await clients[0]!.read(1))[0]!.status).toBe(200);
    expect(edge.stats().inFlight).toBe(0);
  });
});

describe("rate limits on protected writes", () => {
  const post = (token: string) => `POST /products HTTP/1.1\r\nHost: gw\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}`;

  test("per token subject: past the burst, 429 RATE_LIMITED with Retry-After; reads are not limited", async () => {
    const edge = start({});
    const token = await tokenOf("buyer-1");
    const c = await RawClient.open(edge.port);
    c.write(post(token) + post(token) + post(token) + get("/products/deals") + get("/products/deals"));
    const answers = await c.read(5);
    expect(answers.map((a) => a.status)).toEqual([201, 201, 429, 200, 200]);
    expect(JSON.parse(answers[2]!.body).error).toBe("RATE_LIMITED");
    expect(Number(answers[2]!.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(limited).toContain("subject");
  });

  test("per client address: many subjects from one address meet the address's bucket", async () => {
    const edge = start({});
    limited.length = 0;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const c = await RawClient.open(edge.port);
      c.write(post(await tokenOf(`address-${i}`)));
      statuses.push((await c.read(1))[0]!.status);
    }
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1);
    expect(limited).toContain("address");
  });
});

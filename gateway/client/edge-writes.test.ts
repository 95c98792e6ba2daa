/**
 * Writes on the edge's fast lane, on raw sockets: a POST with one Content-Length to a proxied
 * route is read and sent upstream by the edge itself, admitted on its head (token, rate
 * limits, capacity) before its body is read; anything else about its framing still goes
 * to the app. The app here answers 418 to everything, so an answer shows which way a
 * request went.
 */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import type { EdgeLimits } from "./edge-limits.ts";
import { startEdgeFixture } from "../testing/edge-fixture.ts";
import { RawClient } from "../testing/raw-client.ts";

/** What reached the upstream. */
const seen: { method: string; path: string; body: string; headers: Record<string, string> }[] = [];
const tunnelTarget = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    await req.text();
    return Response.json({ tunnel: true }, { status: 418 });
  },
});

const BODY_LIMIT = 64 * 1024;
const gw = startEdgeFixture({
  secret: "edge-writes-test-key",
  bodyLimit: BODY_LIMIT,
  upstreamName: "order",
  timeoutMs: 5000,
  rateLimits: { subjectPerSecond: 1, subjectBurst: 2, addressPerSecond: 100, addressBurst: 1000 },
  tunnelPort: tunnelTarget.port!,
  async upstream(req) {
    const url = new URL(req.url);
    const body = await req.text();
    const delay = Number(url.searchParams.get("delay") ?? 0);
    if (delay) await Bun.sleep(delay);
    const echo = { method: req.method, path: url.pathname + url.search, body, headers: Object.fromEntries(req.headers) };
    seen.push(echo);
    return Response.json(echo, { status: req.method === "POST" ? 201 : 200, headers: { "x-request-id": req.headers.get("x-request-id")! } });
  },
});
const { tokenOf } = gw;
const start = (limits: Partial<EdgeLimits> = {}) => gw.start({ limits });
const edge = start();

afterAll(async () => {
  await gw.stop();
  tunnelTarget.stop(true);
});

beforeEach(() => void (seen.length = 0));

let subjects = 0;
/** A token of a subject of its own, so that the rate limits meet only the test that means them. */
const freshToken = () => tokenOf(`writer-${++subjects}`);

const post = (token: string | null, body: string, path = "/orders", extra = "") =>
  `POST ${path} HTTP/1.1\r\nHost: gw\r\n${token === null ? "" : `authorization: Bearer ${token}\r\n`}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: gw\r\n\r\n`;

async function settled(): Promise<void> {
  await Bun.sleep(300);
}

describe("a write with one Content-Length goes upstream from the edge", () => {
  test("POST /orders: 201 with the upstream's body; the caller named upstream, a forged X-User-ID dropped, the request id kept", async () => {
    const c = await RawClient.open(edge.port);
    const body = JSON.stringify({ items: [{ deal_id: "d1", quantity: 1 }] });
    c.write(post(await tokenOf("buyer-a"), body, "/orders", "X-User-ID: admin\r\nX-Request-ID: fast-1\r\n"));
    const [a] = await c.read(1);
    expect(a!.status).toBe(201);
    expect(a!.headers["x-request-id"]).toBe("fast-1");
    const echo = JSON.parse(a!.body);
    expect(echo).toMatchObject({ method: "POST", path: "/orders", body });
    expect(echo.headers).toMatchObject({ "x-user-id": "buyer-a", "x-request-id": "fast-1", "x-forwarded-for": "127.0.0.1", "content-type": "application/json", "content-length": String(body.length) });
    expect(seen.length).toBe(1);
    c.close();
  });

  test("a public write without a token goes upstream unnamed", async () => {
    const c = await RawClient.open(edge.port);
    c.write(post(null, '{"email":"a@b.c"}', "/auth/login"));
    const [a] = await c.read(1);
    expect(a!.status).toBe(201);
    expect(JSON.parse(a!.body).headers["x-user-id"]).toBeUndefined();
    c.close();
  });

  test("head and body split at random byte offsets, over several writes: read whole", async () => {
    for (let round = 0; round < 12; round++) {
      const token = await freshToken();
      const c = await RawClient.open(edge.port);
      const body = JSON.stringify({ round, pad: "p".repeat(round * 97) });
      const bytes = Buffer.from(post(token, body, `/orders/split-${round}`));
      const cuts = [...new Set(Array.from({ length: 1 + (round % 4) }, () => 1 + Math.floor(Math.random() * (bytes.length - 1))))].sort((x, y) => x - y);
      let from = 0;
      for (const cut of [...cuts, bytes.length]) {
        c.write(bytes.subarray(from, cut));
        from = cut;
        await Bun.sleep(2);
      }
      const [a] = await c.read(1);
      expect(a!.status).toBe(201);
      expect(JSON.parse(a!.body)).toMatchObject({ path: `/orders/split-${round}`, body });
      c.close();
    }
  });

  test("pipelined POST + GET + POST, the first slow: answered in order", async () => {
    const token = await freshToken();
    const c = await RawClient.open(edge.port);
    c.write(post(token, '{"n":1}', "/orders?delay=200") + get("/products/deals") + post(token, '{"n":2}', "/orders/x/cancel"));
    const answers = await c.read(3);
    expect(answers.map((a) => a.status)).toEqual([201, 200, 201]);
    expect(answers.map((a) => JSON.parse(a.body).path)).toEqual(["/orders?delay=200", "/products/deals", "/orders/x/cancel"]);
    c.close();
  });

  test("a tunnelled request and fast-lane writes pipelined either way round: answered in order", async () => {
    const token = await freshToken();
    const chunked = `POST /orders HTTP/1.1\r\nHost: gw\r\nauthorization: Bearer ${token}\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`;
    const c = await RawClient.open(edge.port);
    c.write(post(token, '{"n":1}', "/orders?delay=100") + chunked + post(token, '{"n":2}', "/orders/after"));
    const answers = await c.read(3);
    expect(answers.map((a) => a.status)).toEqual([201, 418, 201]);
    expect(JSON.parse(answers[2]!.body).path).toBe("/orders/after");
    c.close();
  });

  test("Content-Length: 0 is a write with an empty body", async () => {
    const c = await RawClient.open(edge.port);
    c.write(post(await freshToken(), "", "/orders/o1/cancel"));
    const [a] = await c.read(1);
    expect(a!.status).toBe(201);
    expect(JSON.parse(a!.body)).toMatchObject({ path: "/orders/o1/cancel", body: "" });
    c.close();
  });
});

describe("what does not reach the upstream", () => {
  test("a body shorter than its Content-Length, then the client closes: no request upstream, nothing held", async () => {
    const c = await RawClient.open(edge.port);
    c.write(post(await freshToken(), '{"items":[]}').slice(0, -4));
    await Bun.sleep(100);
    c.socket.terminate();
    await settled();
    expect(seen.length).toBe(0);
    expect(edge.stats()).toMatchObject({ inFlight: 0, bufferedBytes: 0 });
  });

  test("Content-Length and Transfer-Encoding together: not the fast lane; refused, never upstream", async () => {
    const c = await RawClient.open(edge.port);
    c.write(`POST /orders HTTP/1.1\r\nHost: gw\r\nauthorization: Bearer ${await freshToken()}\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`);
    const [a] = await c.read(1);
    expect(a!.status).toBe(400);
    expect(JSON.parse(a!.body).error).toBe("BAD_REQUEST");
    await settled();
    expect(seen.length).toBe(0);
    c.socket.terminate();
  });

  test("an Expect: 100-continue write still goes to the app", async () => {
    const token = await freshToken();
    const c = await RawClient.open(edge.port);
    c.write(`POST /orders HTTP/1.1\r\nHost: gw\r\nauthorization: Bearer ${token}\r\ncontent-length: 2\r\nexpect: 100-continue\r\n\r\n{}`);
    const answers = await c.readAll(1500);
    expect(answers.at(-1)!.status).toBe(418);
    c.socket.terminate();
  });

  test("past the body limit: 413 PAYLOAD_TOO_LARGE in the contract's shape, read by the client before the close", async () => {
    const c = await RawClient.open(edge.port);
    c.write(`POST /orders HTTP/1.1\r\nHost: gw\r\nauthorization: Bearer ${await freshToken()}\r\ncontent-length: ${BODY_LIMIT + 1}\r\n\r\n` + "x".repeat(4096));
    const [a] = await c.read(1);
    expect(a!.status).toBe(413);
    expect(JSON.parse(a!.body).error).toBe("PAYLOAD_TOO_LARGE");
    await settled();
    expect(seen.length).toBe(0);
    c.socket.terminate();
  });

  test("a protected write without a token: 401 at once, before its body is sent; the upstream never reached", async () => {
    const c = await RawClient.open(edge.port);
    // Only the head of a large body: the answer must not wait for the rest.
    c.write(`POST /orders HTTP/1.1\r\nHost: gw\r\ncontent-type: application/json\r\ncontent-length: ${BODY_LIMIT}\r\n\r\n`);
    const [a] = await c.read(1, [], 1000);
    expect(a!.status).toBe(401);
    expect(JSON.parse(a!.body).error).toBe("UNAUTHORIZED");
    expect(a!.headers["x-request-id"]).toBeTruthy();
    await c.waitClosed();
    await settled();
    expect(seen.length).toBe(0);
  });

  test("a forged token: 401 INVALID_TOKEN; a body already sent is skipped and the connection goes on", async () => {
    const token = await freshToken();
    const c = await RawClient.open(edge.port);
    c.write(post(`${token.slice(0, -2)}xx`, '{"items":[]}') + get("/products/deals"));
    const answers = await c.read(2);
    expect(answers.map((a) => a.status)).toEqual([401, 200]);
    expect(JSON.parse(answers[0]!.body).error).toBe("INVALID_TOKEN");
    expect(seen.map((s) => s.method)).toEqual(["GET"]);
    c.close();
  });
});

describe("the limits of the app apply on the fast lane", () => {
  test("per subject: past the burst, 429 RATE_LIMITED with Retry-After; reads go on", async () => {
    const token = await freshToken();
    const c = await RawClient.open(edge.port);
    c.write(post(token, "{}") + post(token, "{}") + post(token, "{}") + get("/products/deals"));
    const answers = await c.read(4);
    expect(answers.map((a) => a.status)).toEqual([201, 201, 429, 200]);
    expect(JSON.parse(answers[2]!.body).error).toBe("RATE_LIMITED");
    expect(Number(answers[2]!.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(seen.filter((s) => s.method === "POST").length).toBe(2);
    c.close();
  });

  test("past GATEWAY_MAX_IN_FLIGHT: a write gets 503 UNAVAILABLE with Retry-After at once, its body not forwarded", async () => {
    const local = start({ maxInFlight: 2 });
    const clients = await Promise.all(Array.from({ length: 5 }, () => RawClient.open(local.port)));
    const tokens = await Promise.all(clients.map(() => freshToken()));
    clients.forEach((c, i) => c.write(post(tokens[i]!, '{"n":1}', "/orders?delay=400")));
    const answers = await Promise.all(clients.map(async (c) => (await c.read(1, [], 4000))[0]!));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([201, 201, 503, 503, 503]);
    for (const a of answers.filter((x) => x.status === 503)) {
      expect(a.headers["retry-after"]).toBe("1");
      expect(JSON.parse(a.body).error).toBe("UNAVAILABLE");
    }
    expect(seen.length).toBe(2);
    expect(local.stats().shed.overload).toBe(3);
    for (const c of clients) c.socket.terminate();
  });
});

/**
 * The edge against what a hostile client, a crowd, or a large answer does (issue 13's
 * findings), on raw sockets: no request that would succeed alone fails because of another.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createLogger } from "../../lib/log.ts";
import { startEdgeFixture } from "../testing/edge-fixture.ts";
import { RawClient } from "../testing/raw-client.ts";

/** A ~300 KB page, as product's list with 100 long descriptions is. */
const BIG_PAGE = JSON.stringify({ items: Array.from({ length: 100 }, (_, i) => ({ id: i, description: "d".repeat(3000) })), total: 100, page: 1, size: 100 });
let stock = 10;
const stockChanges: number[] = [];

const logLines: string[] = [];
const BODY_LIMIT = 64 * 1024;
/** Product as far as these tests need it: Bun.serve, with its own limits and pipelining. */
const gw = startEdgeFixture({
  secret: "edge-hostile-test-key",
  bodyLimit: BODY_LIMIT,
  log: createLogger("gateway", "info", (line) => void logLines.push(line)),
  app: { maxRequestBodySize: BODY_LIMIT + 64 * 1024 },
  async upstream(req) {
    const url = new URL(req.url);
    const id = req.headers.get("x-request-id")!;
    const headers = { "x-request-id": id, "content-type": "application/json" };
    if (url.pathname === "/products" && req.method === "GET") return new Response(url.searchParams.get("size") === "100" ? BIG_PAGE : "[]", { headers });
    if (url.pathname.endsWith("/stock")) {
      if (req.method === "PATCH") {
        const { delta } = (await req.json()) as { delta: number };
        stock += delta;
        stockChanges.push(delta);
      }
      return Response.json({ path: url.pathname, stock }, { headers });
    }
    const body = req.method === "GET" || req.method === "HEAD" ? "" : await req.text();
    return Response.json({ method: req.method, path: url.pathname + url.search, bytes: body.length, userId: req.headers.get("x-user-id") }, { status: req.method === "POST" ? 201 : 200, headers });
  },
});
const token = await gw.tokenOf("user-1");
const start = (limits: Record<string, number> = {}) => gw.start({ limits });
const port = start().port;
afterAll(() => gw.stop());

const auth = `authorization: Bearer ${token}\r\n`;
const get = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: gw\r\n${extra}\r\n`;
const withBody = (method: string, path: string, body: string, extra = auth) =>
  `${method} ${path} HTTP/1.1\r\nHost: gw\r\n${extra}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
const PRODUCT = "0b8f2c8e-3d6a-4b59-9a57-2f0f6c4d9e11";

function expectContractError(answer: { status: number; headers: Record<string, string>; body: string }, status: number, code?: string) {
  expect(answer.status).toBe(status);
  expect(answer.headers["x-request-id"]).toBeTruthy();
  const body = JSON.parse(answer.body);
  expect(typeof body.error).toBe("string");
  expect(typeof body.message).toBe("string");
  if (code) expect(body.error).toBe(code);
}

describe("finding 1: batching never fails a request that would succeed alone", () => {
  test("64 clients ask for a ~300 KB page at the same moment, three rounds: every one gets it", async () => {
    for (let round = 0; round < 3; round++) {
      const clients = await Promise.all(Array.from({ length: 64 }, () => RawClient.open(port)));
      for (const c of clients) c.write(get("/products?page=1&size=100"));
      const answers = await Promise.all(clients.map((c) => c.read(1, [], 10_000)));
      for (const c of clients) c.close();
      expect(answers.map(([a]) => a!.status)).toEqual(clients.map(() => 200));
      expect(answers.every(([a]) => a!.body.length === BIG_PAGE.length)).toBe(true);
    }
  }, 30_000);
});

describe("finding 2 and 3: heads the upstream would refuse are the edge's 431, and cost no one else", () => {
  test("a 16,384-byte head and 200 headers get a contract-shaped 431, not a 502", async () => {
    const big = await RawClient.open(port);
    const line = "GET /products/deals HTTP/1.1\r\nHost: gw\r\nx-pad: ";
    big.write(`${line}${"a".repeat(16_384 - line.length - 4)}\r\n\r\n`);
    const [a] = await big.read(1);
    expectContractError(a!, 431);
    await big.waitClosed();
    const many = await RawClient.open(port);
    many.write(get("/products/deals", Array.from({ length: 200 }, (_, i) => `x-h${i}: v\r\n`).join("")));
    const [b] = await many.read(1);
    expectContractError(b!, 431);
  });

  test("one connection pipelining four 200-header requests while eight plain ones arrive: the plain ones all succeed", async () => {
    const bad = Array.from({ length: 4 }, () => get("/products/deals", Array.from({ length: 200 }, (_, i) => `x-h${i}: v\r\n`).join(""))).join("");
    let ok = 0;
    for (let round = 0; round < 25; round++) {
      const hostile = await RawClient.open(port);
      const plain = await Promise.all(Array.from({ length: 8 }, () => RawClient.open(port)));
      hostile.write(bad);
      for (const c of plain) c.write(get("/products/deals"));
      const answers = await Promise.all(plain.map((c) => c.read(1)));
      ok += answers.filter(([a]) => a!.status === 200).length;
      hostile.close();
      for (const c of plain) c.close();
    }
    expect(ok).toBe(200);
  }, 30_000);
});

describe("finding 4: a client that never reads", () => {
  test("is closed by the send timeout, with answers still owed", async () => {
    const local = start({ sendTimeoutMs: 1000 });
    const client = await RawClient.open(local.port);
    client.socket.pause();
    client.write(Array.from({ length: 21 }, () => get("/products?page=1&size=100")).join(""));
    const started = Date.now();
    while (!client.closed && Date.now() - started < 8000) await Bun.sleep(50);
    expect(client.closed).toBe(true);
    await local.stop();
  }, 15_000);
});

describe("finding 5: a body over the limit", () => {
  test("with a content-length: the client reads the contract's 413 while still sending", async () => {
    const client = await RawClient.open(port);
    const body = Buffer.alloc(12 * 1024 * 1024, "a");
    client.write(`POST /products HTTP/1.1\r\nHost: gw\r\n${auth}content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`);
    // Keep sending, as a client that did not look would.
    for (let at = 0; at < body.length && !client.closed; at += 256 * 1024) {
      client.write(body.subarray(at, at + 256 * 1024));
      await Bun.sleep(1);
    }
    const [a] = await client.read(1, [], 5000);
    expectContractError(a!, 413, "PAYLOAD_TOO_LARGE");
  }, 15_000);

  test("chunked and fast, five times: every try reads the 413", async () => {
    for (let i = 0; i < 5; i++) {
      const client = await RawClient.open(port);
      client.write(`POST /products HTTP/1.1\r\nHost: gw\r\n${auth}content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n`);
      const chunk = `${(64 * 1024).toString(16)}\r\n${"a".repeat(64 * 1024)}\r\n`;
      for (let k = 0; k < 40 && !client.closed; k++) client.write(chunk);
      const [a] = await client.read(1, [], 5000);
      expectContractError(a!, 413, "PAYLOAD_TOO_LARGE");
    }
  }, 30_000);
});

describe("finding 6: pipelined writes are all answered, in order", () => {
  test("PATCH stock then GET in one write", async () => {
    const before = stockChanges.length;
    const client = await RawClient.open(port);
    client.write(withBody("PATCH", `/products/${PRODUCT}/stock`, '{"delta":1}') + get(`/products/${PRODUCT}/stock`));
    const [patch, read] = await client.read(2);
    expect(patch!.status).toBe(200);
    expect(read!.status).toBe(200);
    expect(stockChanges.length).toBe(before + 1);
    client.close();
  });

  test("GET, POST /auth/register, PATCH, GET", async () => {
    const client = await RawClient.open(port);
    client.write(get("/products/deals?one") + withBody("POST", "/auth/register", '{"email":"a@b.c"}', "") + withBody("PATCH", `/products/${PRODUCT}/stock`, '{"delta":-1}') + get("/products/deals?four"));
    const answers = await client.read(4);
    expect(answers.map((a) => a.status)).toEqual([200, 201, 200, 200]);
    expect(JSON.parse(answers[1]!.body).path).toBe("/auth/register");
    expect(JSON.parse(answers[3]!.body).path).toBe("/products/deals?four");
    client.close();
  });
});

describe("finding 7: HTTP/1.0 without Host", () => {
  test("keeps the whole path", async () => {
    const a = await RawClient.open(port);
    a.write("GET /nowhere/products/deals HTTP/1.0\r\n\r\n");
    const [notFound] = await a.read(1);
    expect(notFound!.status).toBe(404);
    const b = await RawClient.open(port);
    b.write(`GET /products/${PRODUCT}/stock HTTP/1.0\r\n\r\n`);
    const [s] = await b.read(1);
    expect(s!.status).toBe(200);
    expect(JSON.parse(s!.body).path).toBe(`/products/${PRODUCT}/stock`);
  });
});

describe("finding 8", () => {
  test("/metrics is not served on the public port", async () => {
    const a = await RawClient.open(port);
    a.write(get("/metrics"));
    const [m] = await a.read(1);
    expect(m!.status).toBe(404);
  });

  test("Expect: 100-continue on a protected route without a token: 401, no 100 Continue", async () => {
    const a = await RawClient.open(port);
    a.write("POST /products HTTP/1.1\r\nHost: gw\r\ncontent-type: application/json\r\ncontent-length: 1000\r\nexpect: 100-continue\r\n\r\n");
    const [first] = await a.read(1);
    expect(first!.status).toBe(401);
    expect(a.leftover).not.toContain("100 Continue");
  });

  test("a client cut off mid-body is not logged as an error", async () => {
    logLines.length = 0;
    const a = await RawClient.open(port);
    a.write(`POST /products HTTP/1.1\r\nHost: gw\r\n${auth}content-type: application/json\r\ncontent-length: 5000\r\n\r\n{"name":`);
    await Bun.sleep(100);
    a.socket.terminate();
    await Bun.sleep(300);
    expect(logLines.filter((l) => JSON.parse(l).level === "error")).toEqual([]);
  });
});

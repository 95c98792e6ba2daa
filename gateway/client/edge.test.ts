/**
 * The edge on the wire, with raw sockets as clients: what it answers itself (body-less GETs
 * and HEADs to proxied routes), what it hands to the gateway's app, and that answers keep
 * their order on a connection whatever answers them.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { startEdgeFixture } from "../testing/edge-fixture.ts";
import { RawClient, type RawAnswer as Answer } from "../testing/raw-client.ts";

/** Answers with what it received; some paths answer late, big, chunked or without a request id. */
const gw = startEdgeFixture({
  secret: "edge-test-key",
  bodyLimit: 10_000,
  maxConnections: 16,
  // The app on IPv6 loopback, the clients on IPv4: what the upstream is told about the client
  // shows whether the app learnt it from the edge or saw the tunnel's own address.
  app: { hostname: "::1", publicMetrics: true },
  async upstream(req) {
    const url = new URL(req.url);
    const delay = Number(url.searchParams.get("delay") ?? 0);
    if (delay) await Bun.sleep(delay);
    if (url.pathname === "/products/big") return new Response("x".repeat(4 * 1024 * 1024), { headers: { "x-request-id": req.headers.get("x-request-id")! } });
    if (url.pathname === "/products/chunked")
      return new Response(new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode("streamed")), c.close()) }), { headers: { "x-upstream": "yes" } });
    const echo = { method: req.method, path: url.pathname + url.search, headers: Object.fromEntries(req.headers), body: await req.text() };
    return Response.json(echo, { headers: { "x-request-id": req.headers.get("x-request-id")!, etag: '"e1"' } });
  },
});
const { proxy } = gw;
const token = await gw.tokenOf("user-1");
const port = gw.start().port;
afterAll(() => gw.stop());

const open = (to = port) => RawClient.open(to);

const get = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: gw\r\nauthorization: Bearer ${token}\r\n${extra}\r\n`;

async function one(request: string, headOnly = false): Promise<Answer> {
  const client = await open();
  client.write(request);
  const [answer] = await client.read(1, [headOnly]);
  client.close();
  return answer!;
}

describe("requests the edge answers itself", () => {
  test("a GET through the edge: the upstream's answer as it came, the caller known upstream (short Host too)", async () => {
    const answer = await one(get("/products/deals?x=1", "X-Request-ID: edge-req-1\r\n"));
    expect(answer.status).toBe(200);
    expect(answer.headers["x-request-id"]).toBe("edge-req-1");
    expect(answer.headers.etag).toBe('"e1"');
    const seen = JSON.parse(answer.body);
    expect(seen.path).toBe("/products/deals?x=1");
    expect(seen.headers).toMatchObject({ "x-user-id": "user-1", "x-forwarded-for": "127.0.0.1", "x-request-id": "edge-req-1" });
  });

  test("the gateway's own errors are in the contract's shape", async () => {
    const answer = await one("GET /products/secret/thing HTTP/1.1\r\nHost: gw\r\n\r\n");
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ error: "UNAUTHORIZED" });
    expect(answer.headers["x-request-id"]).toBeTruthy();
    const forged = await one(`GET /products/deals HTTP/1.1\r\nHost: gw\r\nauthorization: Bearer ${token.slice(0, -2)}xx\r\n\r\n`);
    // A public route: a bad token is not an error, but nobody is named upstream.
    expect(JSON.parse(forged.body).headers["x-user-id"]).toBeUndefined();
  });

  test("pipelined requests are answered in order, the slow first one included", async () => {
    const client = await open();
    client.write(get("/products/a?delay=300") + get("/products/b") + get("/products/c?delay=50"));
    const answers = await client.read(3);
    expect(answers.map((a) => JSON.parse(a.body).path)).toEqual(["/products/a?delay=300", "/products/b", "/products/c?delay=50"]);
    client.close();
  });

  test("a hundred pipelined requests in one write are all answered, in order", async () => {
    const client = await open();
    const paths = Array.from({ length: 100 }, (_, i) => `/products/p${i}${i % 10 === 0 ? "?delay=20" : ""}`);
    client.write(paths.map((p) => get(p)).join(""));
    const answers = await client.read(100);
    expect(answers.map((a) => JSON.parse(a.body).path)).toEqual(paths);
    client.close();
  });

  test("a request split over many writes is read whole", async () => {
    const client = await open();
    const bytes = Buffer.from(get("/products/deals?split"));
    for (let i = 0; i < bytes.length; i += 7) {
      client.write(bytes.subarray(i, i + 7));
      await Bun.sleep(1);
    }
    const [answer] = await client.read(1);
    expect(JSON.parse(answer!.body).path).toBe("/products/deals?split");
    client.close();
  });

  test("HEAD: the head alone; the connection goes on", async () => {
    const client = await open();
    client.write(`HEAD /products/deals HTTP/1.1\r\nHost: gw\r\n\r\n${get("/products/after-head")}`);
    const [head, after] = await client.read(2, [true, false]);
    expect(head!.status).toBe(200);
    expect(Number(head!.headers["content-length"])).toBeGreaterThan(0);
    expect(JSON.parse(after!.body).path).toBe("/products/after-head");
    client.close();
  });

  test("an answer that cannot go byte for byte gets a length and the request id", async () => {
    const answer = await one(get("/products/chunked", "X-Request-ID: edge-req-2\r\n"));
    expect(answer).toMatchObject({ status: 200, body: "streamed" });
    expect(answer.headers).toMatchObject({ "x-upstream": "yes", "x-request-id": "edge-req-2", "content-length": "8" });
    expect(answer.headers["transfer-encoding"]).toBeUndefined();
  });

  test("a 4 MB answer arrives whole", async () => {
    const answer = await one(get("/products/big"));
    expect(answer.body.length).toBe(4 * 1024 * 1024);
  });

  test("Connection: close is honoured after the answer", async () => {
    const client = await open();
    client.write(get("/products/deals", "Connection: close\r\n"));
    const [answer] = await client.read(1);
    expect(answer!.status).toBe(200);
    await client.waitClosed();
  });
});

describe("requests handed to the app", () => {
  test("a POST goes through the app, which knows the client; the answers keep their order", async () => {
    const client = await open();
    const body = '{"name":"x"}';
    client.write(`${get("/products/first?delay=200")}POST /products HTTP/1.1\r\nHost: gw\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    const [first, post] = await client.read(2);
    expect(JSON.parse(first!.body).path).toBe("/products/first?delay=200");
    const seen = JSON.parse(post!.body);
    expect(seen).toMatchObject({ method: "POST", path: "/products", body });
    // The app listens on ::1; without the edge telling it, it would name the tunnel.
    expect(seen.headers["x-forwarded-for"]).toBe("127.0.0.1");
    // The connection stays the app's.
    client.write(get("/products/third"));
    const [third] = await client.read(1);
    expect(JSON.parse(third!.body).path).toBe("/products/third");
    client.close();
  });

  test("the gateway's own routes, paths Bun would rewrite, and heads too large are the app's", async () => {
    expect(JSON.parse((await one("GET /health HTTP/1.1\r\nHost: gw\r\n\r\n")).body)).toMatchObject({ status: "healthy" });
    // Bun normalizes dot segments (and leaves percent-encoding) before routing; so must the gateway.
    expect(JSON.parse((await one(get("/products/%64eals"))).body).path).toBe("/products/%64eals");
    expect(JSON.parse((await one(get("/products/x/../deals"))).body).path).toBe("/products/deals");
    const huge = await one(get("/products/deals", `x-big: ${"a".repeat(20_000)}\r\n`));
    expect(huge.status).toBe(431);
  });

  test("bytes that are not HTTP get Bun's own refusal", async () => {
    const client = await open();
    client.write("GARBAGE\r\n\r\n");
    const [answer] = await client.read(1);
    expect(answer!.status).toBe(400);
    await client.waitClosed();
  });

  test("a head whose lines end in a bare LF: 400 at once, not silence until the head timeout", async () => {
    for (const head of ["GET /products/deals HTTP/1.1\nHost: gw\n\n", "GET /products/deals HTTP/1.1\r\nHost: gw\n", "\nGET /products/deals HTTP/1.1\r\n"]) {
      const client = await open();
      client.write(head);
      const [answer] = await client.read(1, [], 2000);
      expect(answer!.status).toBe(400);
      expect(JSON.parse(answer!.body).error).toBe("BAD_REQUEST");
      await client.waitClosed();
    }
  });

  test("a request smuggling attempt is not split by the edge", async () => {
    // Transfer-Encoding with Content-Length: Bun's parser decides, on the whole stream.
    const client = await open();
    client.write(`GET /products/deals HTTP/1.1\r\nHost: gw\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${get("/products/smuggled")}`);
    const [answer] = await client.read(1);
    expect(answer!.status).toBe(400);
    await client.waitClosed();
  });
});

test("stopping: answers in flight are written, then connections close and no new ones are taken", async () => {
  const local = gw.start();
  const busy = await Bun.connect({ hostname: "127.0.0.1", port: local.port, socket: { data() {} } });
  const received: Buffer[] = [];
  let closed = false;
  const client = await Bun.connect({
    hostname: "127.0.0.1",
    port: local.port,
    socket: {
      data: (_s, d) => void received.push(Buffer.from(d)),
      close: () => void (closed = true),
    },
  });
  client.write(get("/products/late?delay=300"));
  await Bun.sleep(50);
  await local.stop();
  for (let i = 0; i < 50 && !closed; i++) await Bun.sleep(10);
  expect(closed).toBe(true);
  expect(Buffer.concat(received).toString()).toContain("/products/late?delay=300");
  busy.terminate();
  expect(Bun.connect({ hostname: "127.0.0.1", port: local.port, socket: { data() {} } })).rejects.toThrow();
});

test(
  "idle connections close; one in use never does, though Bun's timer fires on it",
  async () => {
    // Bun's socket timer fires in whole ticks of ~4 s, however short the timeout.
    const local = gw.start({ idleTimeoutS: 1 });
    let closedAt = 0;
    let answers = 0;
    const started = Date.now();
    const client = await Bun.connect({
      hostname: "127.0.0.1",
      port: local.port,
      socket: {
        data: () => void answers++,
        close: () => void (closedAt = Date.now() - started),
      },
    });
    while (Date.now() - started < 6000) {
      client.write(get("/products/deals?busy"));
      await Bun.sleep(250);
    }
    expect(closedAt).toBe(0);
    expect(answers).toBeGreaterThan(15);
    while (closedAt === 0 && Date.now() - started < 16_000) await Bun.sleep(100);
    expect(closedAt).toBeGreaterThan(6000);
    await local.stop();
  },
  { timeout: 20_000 },
);

test("a failure inside the proxy is a 500 in the contract's shape for that request; the connection goes on", async () => {
  let calls = 0;
  const failing = {
    handle: proxy.handle,
    refusal: proxy.refusal,
    begin: proxy.begin,
    forward: (...args: Parameters<typeof proxy.forward>) => {
      if (++calls === 1) throw new Error("boom");
      return proxy.forward(...args);
    },
  };
  const local = gw.start({ proxy: failing });
  const raw = await RawClient.open(local.port);
  raw.write(get("/products/first") + get("/products/second"));
  const [first, second] = await raw.read(2);
  expect(first!.status).toBe(500);
  expect(JSON.parse(first!.body)).toEqual({ error: "INTERNAL_ERROR", message: "Internal error" });
  expect(JSON.parse(second!.body).path).toBe("/products/second");
  raw.close();
  await local.stop();
});

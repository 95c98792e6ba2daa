import { afterAll, describe, expect, test } from "bun:test";
import { freePort } from "../../dev/stack/free-port.ts";
import { UpstreamError, type UpstreamAnswer } from "./answer.ts";
import { Http1Pool } from "./pool.ts";
import { rawUpstream } from "../testing/raw-upstream.ts";
import { useEndToEndTimeouts } from "../../dev/testing/timeouts.ts";

useEndToEndTimeouts();

/** One request through the pool's callbacks, as a promise. */
const ask = (pool: Http1Pool, data: Uint8Array, headOnly: boolean, batchKey: string | null = null) =>
  new Promise<UpstreamAnswer>((onAnswer, failed) => pool.dispatch(data, { deadline: 0, headOnly, batchKey, onAnswer, failed }, batchKey));

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
      const res = await ask(pool, request(`/n${i}`), false);
      expect(res.status).toBe(200);
      expect(new TextDecoder().decode(res.body!)).toBe(`you asked /n${i}`);
      expect(res.headers).toContainEqual(["x-thing", "1"]);
    }
    expect(pool.size).toBe(1);
  });

  test("never opens more than maxConnections; the rest wait their turn", async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => ask(pool, request(`/c${i}`), false)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(pool.size).toBeLessThanOrEqual(4);
  });

  test("decodes a chunked body", async () => {
    const res = await ask(pool, request("/chunked"), false);
    expect(new TextDecoder().decode(res.body!)).toBe("hello world");
  });

  test("reads a body that arrives in many packets", async () => {
    const res = await ask(pool, request("/big"), false);
    expect(res.body!.length).toBe(big.length);
  });

  test("a 204 has no body and the connection stays usable", async () => {
    expect((await ask(pool, request("/none"), false)).status).toBe(204);
    expect((await ask(pool, request("/after"), false)).status).toBe(200);
  });

  test("a slow upstream is a timeout", async () => {
    const started = Date.now();
    const error = await ask(pool, request("/slow"), false).catch((e) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.kind).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(800);
  });

  test("a port nobody listens on is refused, at once", async () => {
    const dead = new Http1Pool("127.0.0.1", freePort(), options);
    const started = Date.now();
    const error = await ask(dead, request("/"), false).catch((e) => e);
    expect(error.kind).toBe("refused");
    expect(error.maybeProcessed).toBe(false);
    expect(Date.now() - started).toBeLessThan(200);
  });
});

const ok = (body: string, extra = "") => `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n${extra}\r\n${body}`;

test("header names in any case: length, Connection: Close and X-Request-ID are read; connection-level headers are not passed on", async () => {
  const { server } = rawUpstream(
    () => "HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 5\r\nX-Request-ID: abc\r\nKeep-Alive: timeout=5\r\nDate: today\r\nX-Thing:  spaced \r\nConnection: Close\r\n\r\nhello",
  );
  const pool = new Http1Pool("127.0.0.1", server.port, options);
  const res = await ask(pool, request("/x"), false);
  expect(new TextDecoder().decode(res.body!)).toBe("hello");
  expect(res.hasRequestId).toBe(true);
  expect(res.headers).toEqual([
    ["X-Request-ID", "abc"],
    ["X-Thing", "spaced"],
  ]);
  expect(pool.size).toBe(0); // closed after the answer, as the upstream asked
  pool.close();
  server.stop(true);
});

describe("Http1Pool batches identical hot reads", () => {
  /** All sent in one turn; each settles to its body, or to its error. */
  const requestAll = (pool: Http1Pool, paths: string[], key: (p: string) => string | null) =>
    paths.map((p) =>
      ask(pool, request(p), false, key(p)).then(
        (r) => new TextDecoder().decode(r.body!),
        (e: UpstreamError) => e,
      ),
    );

  test("requests with one key that arrive together go out in one write; each gets its own answer", async () => {
    const { server, reads } = rawUpstream((path, i) => ok(`${path} #${i}`));
    const pool = new Http1Pool("127.0.0.1", server.port, options);
    // Batches form on connections already open, for a key whose answers are known to be small.
    await ask(pool, request("/warm"), false, "/deals");
    const paths = Array.from({ length: 10 }, (_, i) => `/deals?i=${i}`);
    const bodies = await Promise.all(requestAll(pool, paths, () => "/deals"));
    expect(bodies).toEqual(paths.map((p, i) => `${p} #${i + 1}`));
    expect(reads).toEqual([1, 10]);
    expect(pool.size).toBe(1);
    // The connection is reusable afterwards, batched or not.
    expect(new TextDecoder().decode((await ask(pool, request("/after"), false)).body!)).toBe("/after #11");
    pool.close();
    server.stop(true);
  });

  test("different keys never share a write", async () => {
    const { server, reads } = rawUpstream((path) => ok(path));
    const pool = new Http1Pool("127.0.0.1", server.port, options);
    await Promise.all([ask(pool, request("/a"), false, "/a"), ask(pool, request("/b"), false, "/b")]);
    reads.length = 0;
    const bodies = await Promise.all(requestAll(pool, ["/a", "/b", "/a", "/b"], (p) => p));
    expect(bodies).toEqual(["/a", "/b", "/a", "/b"]);
    expect(reads.sort()).toEqual([2, 2]);
    pool.close();
    server.stop(true);
  });

  test("answers split anywhere across reads are put back together", async () => {
    const body = "y".repeat(5000);
    const { server } = rawUpstream(() => ok(body, "x-thing: 1\r\n"));
    const pool = new Http1Pool("127.0.0.1", server.port, options);
    await ask(pool, request("/warm"), false, "/big");
    const bodies = await Promise.all(requestAll(pool, Array.from({ length: 40 }, () => "/big"), () => "/big"));
    expect(bodies.every((b) => b === body)).toBe(true);
    pool.close();
    server.stop(true);
  });

  test("an upstream that closes after the first answer: the rest fail as never answered, so they can be sent again", async () => {
    const { server } = rawUpstream((path, i) => (i === 0 ? ok("warm") : i === 1 ? ok(path, "connection: close\r\n") : null));
    const pool = new Http1Pool("127.0.0.1", server.port, options);
    await ask(pool, request("/warm"), false, "/n");
    const [first, ...rest] = await Promise.all(requestAll(pool, ["/1", "/2", "/3"], () => "/n"));
    expect(first).toBe("/1");
    for (const e of rest) {
      expect(e).toBeInstanceOf(UpstreamError);
      expect((e as UpstreamError).noResponse).toBe(true);
    }
    pool.close();
    server.stop(true);
  });

  test("answers not known to be small are never batched: a key goes alone until its size is known, and large ones stay alone", async () => {
    const large = "L".repeat(300_000);
    const { server, reads } = rawUpstream((path) => ok(path.startsWith("/large") ? large : path));
    const pool = new Http1Pool("127.0.0.1", server.port, options);
    await Promise.all(Array.from({ length: 4 }, () => ask(pool, request("/warm"), false)));
    reads.length = 0;
    const first = await Promise.all(requestAll(pool, ["/s", "/s", "/s"], () => "/small"));
    expect(first).toEqual(["/s", "/s", "/s"]);
    expect(reads.sort()).toEqual([1, 1, 1]); // the size of "/small" was not known yet
    reads.length = 0;
    await Promise.all(requestAll(pool, ["/s", "/s", "/s"], () => "/small"));
    expect(reads).toEqual([3]);
    reads.length = 0;
    await Promise.all(requestAll(pool, ["/large"], () => "/large"));
    reads.length = 0;
    const bodies = await Promise.all(requestAll(pool, ["/large", "/large", "/large"], () => "/large"));
    expect(bodies.every((b) => b === large)).toBe(true);
    expect(reads.sort()).toEqual([1, 1, 1]);
    pool.close();
    server.stop(true);
  });

  test("a batch that fills up goes out at once and the next one starts: none is left unsent", async () => {
    const { server, reads } = rawUpstream((path) => ok(path));
    const pool = new Http1Pool("127.0.0.1", server.port, options);
    await Promise.all(Array.from({ length: 4 }, () => ask(pool, request("/warm"), false, "/d")));
    reads.length = 0;
    const paths = Array.from({ length: 150 }, (_, i) => `/d${i}`);
    const bodies = await Promise.all(requestAll(pool, paths, () => "/d"));
    expect(bodies).toEqual(paths);
    expect(reads.reduce((a, b) => a + b, 0)).toBe(150);
    expect(Math.max(...reads)).toBeLessThanOrEqual(64);
    pool.close();
    server.stop(true);
  });
});

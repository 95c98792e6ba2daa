/**
 * The gateway's end of the multiplexed channel against a real service (an Elysia app with the
 * channel's route, as the order service has it): one connection carries every request in
 * flight, each answer reaches its own request, and a slow request, a dead instance or a
 * stopping one fails only what it must.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createLogger } from "../../lib/log.ts";
import { createServiceMetrics } from "../../lib/metrics.ts";
import { serveMux } from "../../lib/mux-server.ts";
import { listenApp } from "../../lib/serve.ts";
import { createServiceApp } from "../../lib/service-app.ts";
import { closedPort, freePort } from "../../dev/stack/free-port.ts";
import { useEndToEndTimeouts } from "../../dev/testing/timeouts.ts";
import { UpstreamError, type UpstreamAnswer } from "./answer.ts";
import { MuxPool } from "./mux-pool.ts";

useEndToEndTimeouts();

const log = createLogger("mux-pool-test", "error");

/** A service with the channel's route on `port` (0: any); `reusePort` lets a replacement listen beside it. */
function startService(port = 0, name = "one") {
  const app = createServiceApp({ service: name, log, metrics: createServiceMetrics(name), bodyLimit: 1024 * 1024, slowRequestMs: 10_000, tracer: null })
    .get("/who", () => ({ who: name }))
    .get("/wait/:ms", async ({ params }) => {
      await Bun.sleep(Number(params.ms));
      return { waited: Number(params.ms), who: name };
    })
    .post("/echo", async ({ request }) => ({ got: await request.text(), user: request.headers.get("x-user-id") }), { parse: "none" });
  const mux = serveMux(app, log);
  listenApp(app, { port, host: "127.0.0.1", reusePort: true, maxBodyBytes: 1024 * 1024, shutdownGraceMs: 5000 });
  return { app, mux, port: app.server!.port! };
}

/** One request through the pool's callbacks, as a promise. */
const ask = (pool: MuxPool, text: string, headOnly = false) =>
  new Promise<UpstreamAnswer>((onAnswer, failed) => pool.dispatch(Buffer.from(text, "latin1"), { deadline: 0, headOnly, batchKey: null, onAnswer, failed }, null));
const get = (path: string, method = "GET") => `${method} ${path} HTTP/1.1\r\nhost: test\r\ncontent-length: 0\r\n\r\n`;
const post = (path: string, body: string) => `POST ${path} HTTP/1.1\r\nhost: test\r\nx-user-id: u7\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
const text = (a: UpstreamAnswer) => new TextDecoder().decode(a.body);
const options = { timeoutMs: 500, connectTimeoutMs: 500 };

const service = startService();
afterAll(() => service.app.server?.stop(true));

describe("MuxPool", () => {
  const pool = new MuxPool("127.0.0.1", service.port, options);
  afterAll(() => pool.close());

  test("carries every request in flight on one connection, each answer to its own request", async () => {
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => ask(pool, post("/echo", `body ${i}`))));
    answers.forEach((a, i) => {
      expect(a.status).toBe(200);
      expect(JSON.parse(text(a))).toEqual({ got: `body ${i}`, user: "u7" });
    });
    expect(pool.size).toBe(1);
    expect(service.mux.connections).toBe(1);
  });

  test("an answer can be passed on byte for byte, and its headers read", async () => {
    const a = await ask(pool, get("/who"));
    expect(new TextDecoder().decode(a.raw!)).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*content-length: 13\r\n\r\n\{"who":"one"\}$/);
    expect(a.hasRequestId).toBe(true);
    expect(a.headers.map(([n]) => n)).toContain("content-type");
  });

  test("a HEAD's answer has no body", async () => {
    const a = await ask(pool, get("/who", "HEAD"), true);
    expect(a.status).toBe(200);
    expect(a.body.length).toBe(0);
  });

  test("a slow answer is a timeout, and holds up none of the answers behind it", async () => {
    const slow = ask(pool, get("/wait/900")).catch((e) => e);
    const fast = await Promise.all(Array.from({ length: 20 }, () => ask(pool, get("/wait/1"))));
    expect(fast.every((a) => a.status === 200)).toBe(true);
    const error = await slow;
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.kind).toBe("timeout");
    // Its answer, when it comes, belongs to nobody and is dropped; the channel goes on.
    await Bun.sleep(500);
    expect((await ask(pool, get("/who"))).status).toBe(200);
    expect(pool.size).toBe(1);
  });

  test("a connection on which nothing is heard for a whole timeout is dropped: the next request opens another", async () => {
    let opened = 0;
    const silent = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req, srv) => (srv.upgrade(req) ? undefined : new Response("no", { status: 400 })),
      // Takes the connection and every message, answers nothing: a peer gone without closing.
      websocket: { open: () => void opened++, message() {} },
    });
    const own = new MuxPool("127.0.0.1", silent.port!, { timeoutMs: 300, connectTimeoutMs: 500 });
    const first = await ask(own, get("/who")).catch((e) => e);
    expect(first.kind).toBe("timeout");
    await Bun.sleep(150);
    expect(own.size).toBe(0);
    const second = await ask(own, get("/who")).catch((e) => e);
    expect(second.kind).toBe("timeout");
    expect(opened).toBe(2);
    own.close();
    silent.stop(true);
  });

  test("nothing listening is refused: the request never reached an instance", async () => {
    const nowhere = new MuxPool("127.0.0.1", closedPort(), options);
    const error = await ask(nowhere, get("/who")).catch((e) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.kind).toBe("refused");
    expect(error.maybeProcessed).toBe(false);
    nowhere.close();
  });

  test("an instance that dies fails what waits on it as broken; the next request connects again", async () => {
    const port = freePort();
    const first = startService(port, "first");
    const own = new MuxPool("127.0.0.1", port, { timeoutMs: 5000, connectTimeoutMs: 500 });
    expect(JSON.parse(text(await ask(own, get("/who"))))).toEqual({ who: "first" });
    const waiting = Array.from({ length: 5 }, () => ask(own, get("/wait/2000")).catch((e) => e));
    await Bun.sleep(50);
    await first.app.server!.stop(true);
    for (const error of await Promise.all(waiting)) {
      expect(error).toBeInstanceOf(UpstreamError);
      expect(error.kind).toBe("broken");
      expect(error.noResponse).toBe(true);
    }
    const second = startService(port, "second");
    expect(JSON.parse(text(await ask(own, get("/who"))))).toEqual({ who: "second" });
    own.close();
    await second.app.server!.stop(true);
  });

  test("GOAWAY: what is in flight is answered by the instance stopping, what comes after by its replacement", async () => {
    const port = freePort();
    const old = startService(port, "old");
    const own = new MuxPool("127.0.0.1", port, { timeoutMs: 5000, connectTimeoutMs: 500 });
    expect(JSON.parse(text(await ask(own, get("/who"))))).toEqual({ who: "old" });
    const replacement = startService(port, "new");
    const inFlight = Array.from({ length: 10 }, () => ask(own, get("/wait/300")));
    await Bun.sleep(50);
    // What a service does on SIGTERM (lib/serve.ts): GOAWAY, then stop accepting and wait.
    old.mux.goAway();
    const stopped = old.app.server!.stop(false);
    await Bun.sleep(50);
    const after = await Promise.all(Array.from({ length: 10 }, () => ask(own, get("/who"))));
    expect(after.map((a) => JSON.parse(text(a)).who)).toEqual(Array(10).fill("new"));
    for (const a of await Promise.all(inFlight)) expect(JSON.parse(text(a))).toEqual({ waited: 300, who: "old" });
    // The gateway closed the old channel once it had its answers, so the old instance's stop ends.
    await stopped;
    expect(own.size).toBe(1);
    own.close();
    await replacement.app.server!.stop(true);
  });
});

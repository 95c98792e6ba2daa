/**
 * The proxy against a raw upstream: what reaches the client when the upstream's answer cannot
 * be passed on, and that it costs no other request its answer.
 */
import { afterAll, expect, test } from "bun:test";
import { createLogger } from "../lib/log.ts";
import { createServiceMetrics } from "../lib/metrics.ts";
import { TokenVerifier } from "../lib/token-verifier.ts";
import { createProxy } from "./proxy.ts";
import { Upstream } from "./upstream/balancer.ts";

/** Answers each request in a read, in order: a header Bun refuses for `bad`, an interim answer first for `interim`, 200 otherwise. */
const upstreamServer = Bun.listen({
  hostname: "127.0.0.1",
  port: 0,
  socket: {
    data(socket, data) {
      let out = "";
      for (const head of data.toString("latin1").split("\r\n\r\n").filter(Boolean)) {
        const path = head.split(" ")[1]!;
        if (path.includes("interim")) out += "HTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n";
        const extra = path.includes("bad") ? "x-broken: a\0b\r\n" : "";
        out += `HTTP/1.1 200 OK\r\ncontent-length: ${path.length}\r\n${extra}\r\n${path}`;
      }
      socket.write(out);
    },
  },
});
const options = { maxConnections: 4, timeoutMs: 2000, connectTimeoutMs: 500, idleMs: 10_000, downMs: 1000 };
const product = new Upstream("product", [new URL(`http://127.0.0.1:${upstreamServer.port}`)], options);
afterAll(() => {
  product.close();
  upstreamServer.stop(true);
});

const proxy = createProxy({
  upstreams: { auth: product, product, order: product },
  verifier: new TokenVerifier("test-key"),
  bodyLimit: 1024,
  metrics: createServiceMetrics("gateway"),
  tracer: null,
  slowRequestMs: 10_000,
  log: createLogger("gateway", "error"),
  onUpstreamError() {},
});
const get = (path: string) => proxy.handle(new Request(`http://gateway.test${path}`), "127.0.0.1");
/** Settles to the status and body, or to the rejection's message; never waits past 1 s. */
const outcome = (p: Promise<Response>) =>
  Promise.race([
    p.then(
      async (r) => `${r.status} ${await r.text()}`,
      (e: Error) => `rejected: ${e.message}`,
    ),
    Bun.sleep(1000).then(() => "no answer"),
  ]);

test("an answer no client should be given is a 502 for that request alone; the ones batched with it are answered", async () => {
  await get("/products/deals?warm"); // batches form on a connection already open
  const [bad, good1, good2] = await Promise.all([get("/products/deals?bad"), get("/products/deals?ok1"), get("/products/deals?ok2")].map(outcome));
  expect(bad).toStartWith("502 ");
  expect(JSON.parse(bad.slice(4))).toMatchObject({ error: "BAD_GATEWAY" });
  expect([good1, good2]).toEqual(["200 /products/deals?ok1", "200 /products/deals?ok2"]);
  expect(await outcome(get("/products/deals?after"))).toBe("200 /products/deals?after");
});

test("an interim (1xx) answer, which the gateway never asks for, is a 502", async () => {
  const answer = await outcome(get("/products/deals?interim"));
  expect(answer).toStartWith("502 ");
  expect(await outcome(get("/products/deals?next"))).toBe("200 /products/deals?next");
});

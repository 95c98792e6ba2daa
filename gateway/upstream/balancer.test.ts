/** Retries across a batch: a request never fails because a batch-mate's answer did. */
import { expect, test } from "bun:test";
import type { UpstreamAnswer, UpstreamError } from "./answer.ts";
import { rawUpstream } from "../testing/raw-upstream.ts";
import { Upstream, UpstreamCall } from "./balancer.ts";

class Call extends UpstreamCall {
  readonly headOnly = false;
  readonly idempotent = true;
  readonly done: Promise<number>;
  private settle!: (status: number) => void;

  constructor(
    readonly batchKey: string | null,
    private readonly extra = "",
  ) {
    super();
    this.done = new Promise((resolve) => (this.settle = resolve));
  }

  encode(host: string): Uint8Array {
    return Buffer.from(`GET /products/deals HTTP/1.1\r\nhost: ${host}\r\n${this.extra}content-length: 0\r\n\r\n`);
  }

  onAnswer(answer: UpstreamAnswer): void {
    this.settle(answer.status);
  }

  gaveUp(e: UpstreamError): void {
    this.settle(e.kind === "timeout" ? 504 : 502);
  }
}

test("batch-mates refused with 431 and Connection: close cost the others nothing: they are sent again alone", async () => {
  // As Bun.serve refuses a head it will not read: an answer, then the connection closed.
  const { server, reads } = rawUpstream((_path, _index, head) => (head.includes("x-bad") ? { last: "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n" } : "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"));
  const upstream = new Upstream("product", [new URL(`http://127.0.0.1:${server.port}`)], { maxConnections: 8, timeoutMs: 2000, connectTimeoutMs: 500, idleMs: 10_000, downMs: 1000 });
  // Idle connections for the retries to find, and the answer's size known: small.
  const warm = Array.from({ length: 4 }, () => new Call("/products/deals"));
  for (const w of warm) upstream.send(w);
  await Promise.all(warm.map((w) => w.done));
  // Four bad ones (one client pipelining them) among eight good ones, all in one turn.
  const bad = () => new Call("/products/deals", "x-bad: 1\r\n");
  const good = () => new Call("/products/deals");
  const calls = [bad(), good(), bad(), good(), good(), bad(), good(), good(), bad(), good(), good(), good()];
  for (const c of calls) upstream.send(c);
  const statuses = await Promise.all(calls.map((c) => c.done));
  expect(statuses).toEqual(calls.map((c) => ((c as unknown as { extra: string }).extra ? 431 : 200)));
  expect(Math.max(...reads)).toBe(12); // they were batched
  upstream.close();
  server.stop(true);
});

test("a batched request whose answer broke off mid-body is sent again alone, once, and answered", async () => {
  // The first request marked x-cut gets half an answer, then the connection closes.
  let cut = false;
  const { server } = rawUpstream((_path, _index, head) => {
    if (head.includes("x-cut") && !cut) {
      cut = true;
      return { last: "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nok" };
    }
    return "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
  });
  const upstream = new Upstream("product", [new URL(`http://127.0.0.1:${server.port}`)], { maxConnections: 8, timeoutMs: 2000, connectTimeoutMs: 500, idleMs: 10_000, downMs: 1000 });
  const warm = new Call("/products/deals");
  upstream.send(warm);
  await warm.done;
  const calls = [new Call("/products/deals"), new Call("/products/deals", "x-cut: 1\r\n"), new Call("/products/deals")];
  for (const c of calls) upstream.send(c);
  expect(await Promise.all(calls.map((c) => c.done))).toEqual([200, 200, 200]);
  expect(cut).toBe(true);
  upstream.close();
  server.stop(true);
});

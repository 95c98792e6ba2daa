/** Client addresses behind a load balancer: believed only from TRUSTED_PROXIES, both ways on the wire. */
import { afterAll, describe, expect, test } from "bun:test";
import { startEdgeFixture } from "../testing/edge-fixture.ts";
import { RawClient } from "../testing/raw-client.ts";
import { readProxyHeader, TrustedProxies } from "./trusted-proxies.ts";

describe("TrustedProxies", () => {
  const t = new TrustedProxies(["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]);

  test("addresses and CIDRs, IPv4-mapped peers included; anything else refused at start", () => {
    expect([t.trusts("10.1.2.3"), t.trusts("::ffff:10.9.9.9"), t.trusts("192.0.2.7"), t.trusts("2001:db8::1")]).toEqual([true, true, true, true]);
    expect([t.trusts("11.0.0.1"), t.trusts("192.0.2.8"), t.trusts("::1"), t.trusts("junk")]).toEqual([false, false, false, false]);
    for (const bad of ["10.0.0.0/33", "nope", "1.2.3.4/x", ""]) expect(() => new TrustedProxies([bad])).toThrow();
  });

  test("X-Forwarded-For: the rightmost hop that is not one of ours; a header that is not addresses is not believed", () => {
    expect(t.clientFrom("10.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.0.5")).toBe("1.2.3.4");
    expect(t.clientFrom("10.0.0.1", "1.2.3.4")).toBe("1.2.3.4");
    expect(t.clientFrom("10.0.0.1", null)).toBe("10.0.0.1");
    expect(t.clientFrom("10.0.0.1", "10.0.0.9, 10.0.0.5")).toBe("10.0.0.9");
    expect(t.clientFrom("10.0.0.1", "1.2.3.4, evil")).toBe("10.0.0.1");
  });

  test("PROXY protocol v1 and v2 headers", () => {
    expect(readProxyHeader(Buffer.from("PROXY TCP4 203.0.113.9 10.0.0.1 5555 80\r\nGET /"))).toEqual({ length: 41, source: "203.0.113.9" });
    expect(readProxyHeader(Buffer.from("PROXY UNKNOWN\r\n"))).toEqual({ length: 15, source: null });
    expect(readProxyHeader(Buffer.from("PROXY TCP4 203.0"))).toBe("incomplete");
    expect(readProxyHeader(Buffer.from("PROXY TCP4 nonsense\r\n"))).toBe("invalid");
    expect(readProxyHeader(Buffer.from("GET / HTTP/1.1\r\n"))).toBe("none");
    const v2 = Buffer.concat([Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c]), Buffer.from([198, 51, 100, 7, 10, 0, 0, 1, 0x15, 0xb3, 0x00, 0x50])]);
    expect(readProxyHeader(v2)).toEqual({ length: 28, source: "198.51.100.7" });
    expect(readProxyHeader(v2.subarray(0, 20))).toBe("incomplete");
  });
});

const gw = startEdgeFixture({
  secret: "trusted-proxies-key",
  bodyLimit: 10_000,
  maxConnections: 8,
  async upstream(req) {
    if (req.method !== "GET") await req.text();
    return Response.json({ forwardedFor: req.headers.get("x-forwarded-for") }, { headers: { "x-request-id": req.headers.get("x-request-id")! } });
  },
});
const start = (trusted: string[]) => gw.start({ trustedProxies: new TrustedProxies(trusted) }).port;
afterAll(() => gw.stop());

/** What the upstream was told about the client, for a fast-lane GET and a tunnelled GET (a path Bun rewrites). */
async function seenBy(port: number, prefix: string, xff: string): Promise<string[]> {
  const c = await RawClient.open(port);
  const header = xff ? `x-forwarded-for: ${xff}\r\n` : "";
  c.write(`${prefix}GET /products/deals HTTP/1.1\r\nHost: gw\r\n${header}\r\nGET /products/a/../deals HTTP/1.1\r\nHost: gw\r\n${header}\r\n`);
  const answers = await c.read(2);
  c.close();
  return answers.map((a) => JSON.parse(a.body).forwardedFor);
}

describe("the edge behind a load balancer", () => {
  test("from a trusted peer: X-Forwarded-For's rightmost untrusted hop, on both lanes", async () => {
    const port = start(["127.0.0.1", "10.0.0.0/8"]);
    expect(await seenBy(port, "", "6.6.6.6, 203.0.113.5, 10.1.1.1")).toEqual(["203.0.113.5", "203.0.113.5"]);
    expect(await seenBy(port, "", "")).toEqual(["127.0.0.1", "127.0.0.1"]);
  });

  test("from a trusted peer with a PROXY header: its source, and the client's X-Forwarded-For ignored", async () => {
    const port = start(["127.0.0.1"]);
    expect(await seenBy(port, "PROXY TCP4 198.51.100.23 127.0.0.1 40000 8000\r\n", "6.6.6.6")).toEqual(["198.51.100.23", "198.51.100.23"]);
  });

  test("from anyone else: the peer's address; the header dropped, a PROXY header not HTTP", async () => {
    const port = start(["10.0.0.0/8"]);
    expect(await seenBy(port, "", "6.6.6.6")).toEqual(["127.0.0.1", "127.0.0.1"]);
    const c = await RawClient.open(port);
    c.write("PROXY TCP4 198.51.100.23 127.0.0.1 40000 8000\r\nGET /products/deals HTTP/1.1\r\nHost: gw\r\n\r\n");
    expect((await c.read(1))[0]!.status).toBe(400);
  });
});

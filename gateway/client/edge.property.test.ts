/**
 * Property-based tests of the edge (fast-check): generated request streams (fast-lane and
 * tunnelled requests pipelined together, fast-lane writes with a Content-Length to any of the
 * paths among them, bodies by length and chunked, HTTP/1.0, odd and
 * mutated heads) split at random byte offsets, through a real edge and app in front of a
 * recording upstream. A fixed seed and a short run in CI; `FC_RUNS=2000 bun test
 * gateway/client/edge.property` runs longer.
 */
import { afterAll, expect, test } from "bun:test";
import fc from "fast-check";
import { createLogger } from "../../lib/log.ts";
import { startEdgeFixture } from "../testing/edge-fixture.ts";
import { RawClient } from "../testing/raw-client.ts";

const RUNS = Number(process.env.FC_RUNS ?? 40);
const SEED = Number(process.env.FC_SEED ?? 1313);
const BODY_LIMIT = 16 * 1024;

/** Request ids the upstream saw, and whether each came with a verified user. */
const seen = new Map<string, string | null>();
const gw = startEdgeFixture({
  secret: "edge-property-test-key",
  bodyLimit: BODY_LIMIT,
  maxConnections: 32,
  timeoutMs: 5000,
  slowRequestMs: 60_000,
  log: createLogger("gateway", "error", () => {}),
  app: { maxRequestBodySize: BODY_LIMIT + 64 * 1024 },
  async upstream(req) {
    const id = req.headers.get("x-request-id")!;
    seen.set(id, req.headers.get("x-user-id"));
    const delay = Number(new URL(req.url).searchParams.get("delay") ?? 0);
    if (delay) await Bun.sleep(delay);
    const body = req.method === "GET" || req.method === "HEAD" ? "" : await req.text();
    return Response.json({ id, bytes: body.length }, { status: req.method === "POST" ? 201 : 200, headers: { "x-request-id": id } });
  },
});
const token = await gw.tokenOf("prop-user", 3600);
const appPort = gw.appAddress.port;
const edge = gw.start({ limits: { headTimeoutMs: 2000, lingerMs: 300 } });
const edgePort = edge.port;
afterAll(() => gw.stop());

interface Spec {
  kind: "get" | "head" | "post" | "write" | "order" | "chunked" | "patch" | "http10" | "odd";
  path: string;
  auth: "valid" | "none" | "forged";
  body: string;
  junk: string;
}

const PATHS = ["/products/deals", "/products?page=1&size=20", "/products/0b8f2c8e-3d6a-4b59-9a57-2f0f6c4d9e11", "/products/x/stock", "/auth/users/me", "/products/secret/admin", "/nowhere", "/products/deals?delay=5", "/products/%64eals", "/products/a/../deals"];
const PROTECTED = (method: string, path: string) => !(method === "GET" || method === "HEAD") || path.startsWith("/auth/users") || path.startsWith("/products/secret");

const spec: fc.Arbitrary<Spec> = fc.record({
  kind: fc.constantFrom("get", "get", "get", "head", "post", "write", "order", "order", "chunked", "patch", "http10", "odd"),
  path: fc.constantFrom(...PATHS),
  auth: fc.constantFrom("valid", "valid", "none", "forged"),
  body: fc.string({ maxLength: 200 }).map((s) => JSON.stringify({ s })),
  // Header values of any byte a client might send, controls included: the edge or Bun refuses some.
  junk: fc.oneof(fc.constant(""), fc.string({ maxLength: 20 }), fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b).toString("latin1"))),
});

function encode(s: Spec, id: string, http10Host = false): string {
  const auth = s.auth === "valid" ? `authorization: Bearer ${token}\r\n` : s.auth === "forged" ? `authorization: Bearer ${token.slice(0, -3)}abc\r\n` : "";
  const common = `Host: gw\r\nx-request-id: ${id}\r\n${auth}${s.junk ? `x-junk: ${s.junk}\r\n` : ""}`;
  switch (s.kind) {
    case "get":
      return `GET ${s.path} HTTP/1.1\r\n${common}\r\n`;
    case "head":
      return `HEAD ${s.path} HTTP/1.1\r\n${common}\r\n`;
    case "odd":
      return `GET ${s.path} HTTP/1.1\r\n${common}accept:  */*  \r\nX-Forwarded-For: 6.6.6.6\r\nx-user-id: admin\r\n\r\n`;
    case "http10":
      return `GET ${s.path} HTTP/1.0\r\n${http10Host ? "Host: gw\r\n" : ""}x-request-id: ${id}\r\nconnection: keep-alive\r\n${auth}\r\n`;
    case "post":
      return `POST /products HTTP/1.1\r\n${common}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(s.body, "latin1")}\r\n\r\n${s.body}`;
    case "write":
      return `POST ${s.path} HTTP/1.1\r\n${common}content-length: ${Buffer.byteLength(s.body, "latin1")}\r\n\r\n${s.body}`;
    case "order":
      return `POST /orders HTTP/1.1\r\n${common}X-User-ID: admin\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(s.body, "latin1")}\r\n\r\n${s.body}`;
    case "patch":
      return `PATCH /products/0b8f2c8e-3d6a-4b59-9a57-2f0f6c4d9e11/stock HTTP/1.1\r\n${common}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(s.body, "latin1")}\r\n\r\n${s.body}`;
    case "chunked": {
      const half = Math.floor(s.body.length / 2);
      const chunks = [s.body.slice(0, half), s.body.slice(half)].filter(Boolean).map((c) => `${Buffer.byteLength(c, "latin1").toString(16)}\r\n${c}\r\n`);
      return `POST /products HTTP/1.1\r\n${common}content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n${chunks.join("")}0\r\n\r\n`;
    }
  }
}

const methodOf = (s: Spec) => (s.kind === "head" ? "HEAD" : s.kind === "post" || s.kind === "chunked" || s.kind === "write" || s.kind === "order" ? "POST" : s.kind === "patch" ? "PATCH" : "GET");
const pathOf = (s: Spec) => (s.kind === "post" || s.kind === "chunked" ? "/products" : s.kind === "order" ? "/orders" : s.kind === "patch" ? "/products/x/stock" : s.path);

let run = 0;

/** Writes `bytes` in pieces cut at `cuts`, a little apart. */
async function writeSplit(client: RawClient, bytes: Buffer, cuts: number[]): Promise<void> {
  const points = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
  let at = 0;
  for (const p of [...points, bytes.length]) {
    if (p <= at) continue;
    client.write(bytes.subarray(at, p));
    at = p;
    await Bun.sleep(0);
  }
}

test(
  "pipelined streams split anywhere: every request is answered in order, or the connection closed before it ran; no protected route is reached without a valid token",
  async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(spec, { minLength: 1, maxLength: 6 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }), async (specs, cuts) => {
        const ids = specs.map((_, i) => `p${run}-${i}`);
        run++;
        const bytes = Buffer.from(specs.map((s, i) => encode(s, ids[i]!)).join(""), "latin1");
        const client = await RawClient.open(edgePort);
        await writeSplit(client, bytes, cuts);
        const answers = await client.readAll(3000, specs.map((s) => s.kind === "head"), specs.length);
        client.socket.terminate();
        // In order: the k-th answer is the k-th request's (the gateway returns a sane request id as sent).
        for (let k = 0; k < answers.length && k < specs.length; k++) {
          const id = answers[k]!.headers["x-request-id"];
          // The edge's own refusals of a head it cannot read (400, 431) make a new id: the connection closes there.
          if (id !== ids[k]) {
            if (![400, 431].includes(answers[k]!.status)) throw new Error(`answer ${k} of ${JSON.stringify(specs)}: ${answers[k]!.head}`);
            expect(answers.length).toBe(k + 1);
          }
        }
        expect(answers.length).toBeLessThanOrEqual(specs.length);
        // Not answered: never executed.
        for (let k = answers.length; k < specs.length; k++) expect(seen.has(ids[k]!)).toBe(false);
        for (let k = 0; k < specs.length; k++) {
          const s = specs[k]!;
          if (PROTECTED(methodOf(s), pathOf(s)) && s.auth !== "valid") expect(seen.has(ids[k]!)).toBe(false);
          if (seen.has(ids[k]!) && s.auth !== "valid") expect(seen.get(ids[k]!)).toBeNull();
          // The caller upstream is the token's, never a forged X-User-ID.
          if (seen.has(ids[k]!) && s.auth === "valid") expect(seen.get(ids[k]!)).toBe("prop-user");
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // Nothing left held once the connections are gone.
    await Bun.sleep(400);
    expect(edge.stats()).toMatchObject({ bufferedBytes: 0, inFlight: 0 });
  },
  120_000,
);

test(
  "for the same bytes, the edge's answer has the app's status class",
  async () => {
    const classOf = async (port: number, bytes: string, headOnly: boolean) => {
      const c = await RawClient.open(port);
      c.write(bytes);
      const [a] = await c.readAll(3000, [headOnly], 1);
      c.socket.terminate();
      return a === undefined ? 0 : Math.floor(a.status / 100);
    };
    await fc.assert(
      fc.asyncProperty(spec, async (s) => {
        const id = `c${run++}`;
        // With a Host: without one, Bun's server takes a path's first segment for the host (the edge gives it one).
        const viaEdge = await classOf(edgePort, encode(s, id, true), s.kind === "head");
        const viaApp = await classOf(appPort, encode(s, `${id}-app`, true), s.kind === "head");
        // Where Bun's server gives up without an answer, the edge answers 4xx; else the same class.
        if (viaApp === 0) expect(viaEdge === 0 || viaEdge === 4).toBe(true);
        else expect(viaEdge).toBe(viaApp);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  },
  120_000,
);

/**
 * The order service's fast path for POST /orders on the gateway's channel against its own app,
 * on a real PostgreSQL: generated requests (fast-check: bodies of every shape, the headers the
 * path looks at) are answered by both, and wherever the fast path takes one, its answer is the
 * app's (status, type, body; a new order's ids and times aside). The requests a client sends
 * every day take it; anything unusual is left to the app. A fixed seed and a short run in CI;
 * `FC_RUNS=2000 bun test order/fast-placing` runs longer.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { connectDatabase, type Sql } from "../lib/db.ts";
import { createLogger } from "../lib/log.ts";
import { MuxRequest, type FastPath } from "../lib/mux-server.ts";
import { serviceRuntime } from "../lib/service-app.ts";
import { TokenVerifier } from "../lib/token-verifier.ts";
import { STACK_START_TIMEOUT_MS, testStack } from "../dev/testing/test-stack.ts";
import { useEndToEndTimeouts } from "../dev/testing/timeouts.ts";
import { buildOrderApp } from "./app.ts";
import { ORDER_SETTINGS } from "./config.ts";
import { fastPlacing } from "./fast-placing.ts";
import { registerOrderMetrics } from "./order-metrics.ts";
import { OrderStore } from "./order-store.ts";
import { Placing } from "./placing.ts";

useEndToEndTimeouts();

const RUNS = Number(process.env.FC_RUNS ?? 150);
const SEED = Number(process.env.FC_SEED ?? 2026);

let sql: Sql;
let app: ReturnType<typeof buildOrderApp>;
let fast: FastPath;
/** A live deal with stock to spare, and a deal this instance knows to be sold out. */
const live = { product: "", deal: "" };
const soldOut = { product: "", deal: "" };

beforeAll(async () => {
  const stack = await testStack();
  sql = connectDatabase({ url: stack.databaseUrl, poolSize: 4, applicationName: "fast-placing-test" });
  const config = ORDER_SETTINGS.read({ DATABASE_URL: stack.databaseUrl });
  const log = createLogger("order", "error", () => {});
  const runtime = serviceRuntime("order", config, log);
  const placing = new Placing(new OrderStore(sql), registerOrderMetrics(runtime.metrics, sql, "fast-placing-test", 4), log, { batching: true, maxBatch: 500, soldOutTtlMs: 3_600_000 });
  app = buildOrderApp({ store: new OrderStore(sql), placing, verifier: new TokenVerifier(config.jwtSecret), runtime, databaseAnswers: async () => true });
  fast = fastPlacing({ placing, runtime });
  for (const [target, stock] of [[live, 1_000_000], [soldOut, 1]] as const) {
    const [p] = await sql`insert into product.products (name, price, stock) values (${`fast ${crypto.randomUUID()}`}, 1000, ${stock}) returning id`;
    const [d] = await sql`insert into product.deals (product_id, deal_price, deal_stock, remaining_stock, starts_at, ends_at) values (${p!.id}, 900, ${stock}, ${stock}, now() - interval '1 minute', now() + interval '1 day') returning id`;
    target.product = p!.id;
    target.deal = d!.id;
  }
  placing.soldOut.mark(soldOut.deal, soldOut.product);
}, STACK_START_TIMEOUT_MS);

afterAll(() => sql?.end());

/** The request as the gateway writes it on the channel. */
function record(body: string, headers: [string, string][]): MuxRequest {
  const head = headers.map(([n, v]) => `${n}: ${v}\r\n`).join("");
  const bytes = Buffer.from(body);
  return MuxRequest.read(Buffer.concat([Buffer.from(`POST /orders HTTP/1.1\r\nhost: 127.0.0.1:8003\r\n${head}content-length: ${bytes.length}\r\n\r\n`, "latin1"), bytes]))!;
}

interface Seen {
  status: number;
  type: string | null;
  requestId: string | null;
  body: unknown;
}

/** A new order's ids and times differ from one placement to the next; the rest must not. */
function comparable(body: unknown): unknown {
  const b = body as Record<string, unknown> | null;
  if (b === null || typeof b !== "object" || !("id" in b) || !("items" in b)) return body;
  return { ...b, id: "(id)", created_at: "(time)", updated_at: "(time)", items: (b.items as Record<string, unknown>[]).map((i) => ({ ...i, id: "(id)" })) };
}

async function viaApp(r: MuxRequest): Promise<Seen> {
  const res = await app.handle(r.toRequest("http://127.0.0.1"));
  return { status: res.status, type: res.headers.get("content-type"), requestId: res.headers.get("x-request-id"), body: comparable(JSON.parse(await res.text())) };
}

async function viaFastPath(r: MuxRequest): Promise<Seen | null> {
  const answer = fast(r);
  if (answer === null) return null;
  const a = await answer;
  const header = (name: string) => a.headers.find(([n]) => n === name)?.[1] ?? null;
  return { status: a.status, type: header("content-type"), requestId: header("x-request-id"), body: comparable(JSON.parse(a.body)) };
}

/** Mostly orders a client could send, some a little off, and now and then anything at all. */
const arbitraries = () => {
  const sometimes = <T>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<T>) => fc.oneof({ weight: 5, arbitrary: usual }, { weight: 1, arbitrary: odd });
  const junk = fc.oneof(fc.string({ maxLength: 70 }), fc.integer(), fc.constant(live.product.toUpperCase()));
  const item = fc.record(
    {
      product_id: sometimes(fc.constantFrom(live.product, live.product, soldOut.product, crypto.randomUUID()), junk as fc.Arbitrary<string>),
      deal_id: sometimes(fc.constantFrom<string | null>(live.deal, soldOut.deal, null), fc.oneof(fc.uuid(), junk) as fc.Arbitrary<string>),
      quantity: sometimes(fc.integer({ min: 1, max: 10 }), fc.oneof(fc.integer({ min: -1, max: 12 }), fc.constant("2"), fc.double()) as fc.Arbitrary<number>),
      extra: fc.string(),
    },
    { requiredKeys: ["product_id", "quantity"] },
  );
  const address = fc.record(
    {
      recipient_name: sometimes(fc.constant("Kim"), fc.string({ maxLength: 60 })),
      phone: sometimes(fc.constantFrom("010-1234-5678", "01012345678"), fc.string({ maxLength: 15 })),
      address: sometimes(fc.constant("1 Main St"), fc.string({ maxLength: 3 })),
      address_detail: sometimes(fc.constantFrom(null, "Apt 2"), fc.string({ maxLength: 120 })),
      postal_code: sometimes(fc.constant("12345"), fc.string({ maxLength: 6 })),
    },
    { requiredKeys: ["recipient_name", "phone", "address", "postal_code"] },
  );
  const order = fc.record({ items: fc.array(item, { minLength: 0, maxLength: 3 }), shipping_address: fc.oneof(address, fc.constant(null)) }, { requiredKeys: ["items"] });
  const body = fc.oneof(
    { weight: 8, arbitrary: order.map((o) => JSON.stringify(o)) },
    { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string() },
    { weight: 1, arbitrary: order.map((o) => JSON.stringify(o).replace('"items"', '"items\\u0000"')) },
  );
  const type = sometimes(fc.constant<string | null>("application/json"), fc.constantFrom("application/json; charset=utf-8", "text/plain", null));
  const user = sometimes(fc.uuid() as fc.Arbitrary<string | null>, fc.constantFrom("", null));
  const key = sometimes(fc.constant<string | null>(null), fc.oneof(fc.uuid(), fc.constant("not a key!")));
  const requestId = fc.constantFrom<string | null>("req-1", null, "bad id with spaces");
  return fc.record({ body, type, user, key, requestId, twice: fc.constantFrom(false, false, false, true) });
};

describe("POST /orders on the gateway's channel: the fast path answers as the app does", () => {
  test("for every request it takes, over generated requests; the everyday ones take it", async () => {
    let taken = 0;
    await fc.assert(
      fc.asyncProperty(arbitraries(), async (g) => {
        const headers: [string, string][] = [];
        if (g.type !== null) headers.push(["content-type", g.type]);
        if (g.user !== null) headers.push(["x-user-id", g.user]);
        if (g.twice && g.user !== null) headers.push(["x-user-id", "someone-else"]);
        if (g.requestId !== null) headers.push(["x-request-id", g.requestId]);
        // Each path gets its own key: a key's second use would replay the first's answer.
        const keyed = (suffix: string): [string, string][] => (g.key === null ? headers : [...headers, ["idempotency-key", g.key.replace(/^([0-9a-f-]+)$/, `$1-${suffix}`)]]);
        const fastSeen = await viaFastPath(record(g.body, keyed("fast")));
        const appSeen = await viaApp(record(g.body, keyed("app")));
        if (fastSeen === null) return;
        taken++;
        if (g.requestId !== "req-1") fastSeen.requestId = appSeen.requestId = "(made)";
        expect(fastSeen).toEqual(appSeen);
      }),
      { numRuns: RUNS, seed: SEED },
    );
    expect(taken).toBeGreaterThan(RUNS / 10);
  });

  test("an everyday order takes it: a new one, a refusal from memory, a refusal from the database, a keyed one", async () => {
    const user: [string, string] = ["x-user-id", crypto.randomUUID()];
    const json: [string, string] = ["content-type", "application/json"];
    const cases = [
      { product_id: live.product, deal_id: live.deal, quantity: 1 },
      { product_id: soldOut.product, deal_id: soldOut.deal, quantity: 1 },
      { product_id: crypto.randomUUID(), quantity: 2 },
    ];
    const statuses = [];
    for (const item of cases) statuses.push((await viaFastPath(record(JSON.stringify({ items: [item] }), [json, user])))?.status);
    const keyed = await viaFastPath(record(JSON.stringify({ items: [cases[0]] }), [json, user, ["idempotency-key", `k-${crypto.randomUUID()}`]]));
    expect([...statuses, keyed?.status]).toEqual([201, 400, 404, 201]);
  });

  test("what is unusual or refused by the app's own rules is left to the app", () => {
    const body = JSON.stringify({ items: [{ product_id: live.product, deal_id: live.deal, quantity: 1 }] });
    const user: [string, string] = ["x-user-id", "u1"];
    const json: [string, string] = ["content-type", "application/json"];
    const left = [
      record(body, [["content-type", "application/json; charset=utf-8"], user]),
      record(body, [json]),
      record(body, [json, ["x-user-id", ""]]),
      record(body, [json, user, ["x-user-id", "u2"]]),
      record(body, [json, user, ["idempotency-key", "not a key!"]]),
      record("{not json", [json, user]),
      record(JSON.stringify({ items: [{ product_id: "nope", quantity: 1 }] }), [json, user]),
      record(JSON.stringify({ items: [{ product_id: live.product, quantity: 11 }] }), [json, user]),
      record(JSON.stringify({ items: [{ product_id: "a\u0000b", quantity: 1 }] }), [json, user]),
      record(JSON.stringify({ items: [] }), [json, user]),
    ];
    expect(left.map((r) => fast(r))).toEqual(left.map(() => null));
  });
});

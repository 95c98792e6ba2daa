/**
 * The deal list served from memory stays correct: deals enter and leave within a second of
 * being created, selling out, starting or ending; the ETag changes exactly when the content
 * does; a second instance sees a change made through the first (LISTEN/NOTIFY).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { call, eventually, expectError, registerAndLogin } from "../dev/testing/http.ts";
import { startService, type ServiceProcess } from "../dev/testing/service-process.ts";
import { STACK_START_TIMEOUT_MS, testStack } from "../dev/testing/test-stack.ts";
import { useEndToEndTimeouts } from "../dev/testing/timeouts.ts";

useEndToEndTimeouts();

let gw = "";
let token = "";
let sql: postgres.Sql;
let second: ServiceProcess | null = null;

beforeAll(async () => {
  const stack = await testStack();
  gw = stack.gatewayUrl;
  sql = postgres(stack.databaseUrl, { max: 2, onnotice: () => {} });
  token = (await registerAndLogin(gw, "snapshot")).access;
}, STACK_START_TIMEOUT_MS);

afterAll(async () => {
  await second?.stop();
  await sql?.end();
});

const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();

async function newDeal(startsInMs: number, endsInMs: number, dealStock = 5) {
  const product = await call(gw, "POST", "/products", { token, body: { name: `snapshot product ${crypto.randomUUID()}`, price: 1000, stock: 10 } });
  expect(product.status).toBe(201);
  const deal = await call(gw, "POST", "/products/deals", {
    token,
    body: { product_id: product.body.id, deal_price: 700, deal_stock: dealStock, starts_at: at(startsInMs), ends_at: at(endsInMs) },
  });
  expect(deal.status).toBe(201);
  return deal.body as { id: string; status: string; remaining_stock: number };
}

const liveIds = async (base = gw) => {
  const res = await call(base, "GET", "/products/deals?size=100");
  expect(res.status).toBe(200);
  return (res.body.items as { id: string }[]).map((d) => d.id);
};

describe("the live deal list follows the data within a second", () => {
  test("a deal created live enters the list", async () => {
    const deal = await newDeal(-1000, 3_600_000);
    expect(deal.status).toBe("active");
    await eventually(async () => expect(await liveIds()).toContain(deal.id), 1000);
  });

  test("a deal that sells out leaves the list, and its status says so", async () => {
    const deal = await newDeal(-1000, 3_600_000);
    await eventually(async () => expect(await liveIds()).toContain(deal.id), 1000);
    await sql`update product.deals set remaining_stock = 0 where id = ${deal.id}`;
    await eventually(async () => expect(await liveIds()).not.toContain(deal.id), 1000);
    const one = await call(gw, "GET", `/products/deals/${deal.id}`);
    expect({ status: one.status, deal: one.body.status, remaining: one.body.remaining_stock }).toEqual({ status: 200, deal: "sold_out", remaining: 0 });
  });

  test("a live deal and a sold-out one by id are answered from memory, with the deals table locked; an ended one from the database", async () => {
    const live = await newDeal(-1000, 3_600_000);
    const soldOut = await newDeal(-1000, 3_600_000);
    const ended = await newDeal(-1000, 3_600_000);
    await sql`update product.deals set remaining_stock = 0 where id = ${soldOut.id}`;
    await sql`update product.deals set starts_at = now() - interval '2 seconds', ends_at = now() - interval '1 second' where id = ${ended.id}`;
    await eventually(async () => {
      const ids = await liveIds();
      expect([ids.includes(soldOut.id), ids.includes(ended.id)]).toEqual([false, false]);
    }, 1000);
    const { promise: held, resolve: release } = Promise.withResolvers<void>();
    const { promise: locked, resolve: isLocked } = Promise.withResolvers<void>();
    const holder = sql.begin(async (tx) => {
      await tx`lock table product.deals in access exclusive mode`;
      isLocked();
      await held;
    });
    await locked;
    const started = performance.now();
    const one = await call(gw, "GET", `/products/deals/${live.id}`);
    const gone = await call(gw, "GET", `/products/deals/${soldOut.id}`);
    const ms = performance.now() - started;
    const fromDatabase = call(gw, "GET", `/products/deals/${ended.id}`);
    await Bun.sleep(300);
    release();
    await holder;
    expect({ status: one.status, id: one.body.id, remaining: one.body.remaining_stock }).toEqual({ status: 200, id: live.id, remaining: 5 });
    expect({ status: gone.status, id: gone.body.id, deal: gone.body.status, remaining: gone.body.remaining_stock }).toEqual({ status: 200, id: soldOut.id, deal: "sold_out", remaining: 0 });
    for (const r of [one, gone]) expect(Number(r.headers.get("x-snapshot-age"))).toBeGreaterThanOrEqual(0);
    expect(ms).toBeLessThan(500);
    const other = await fromDatabase;
    expect({ status: other.status, deal: other.body.status }).toEqual({ status: 200, deal: "ended" });
    expect(other.headers.get("x-snapshot-age")).toBeNull();
  });

  test("a deal enters when it starts and leaves when it ends, on the clock", async () => {
    const deal = await newDeal(1200, 2400);
    expect(deal.status).toBe("scheduled");
    expect(await liveIds()).not.toContain(deal.id);
    const startsAt = Date.now() + 1200;
    await eventually(async () => expect(await liveIds()).toContain(deal.id), 2500);
    expect(Date.now()).toBeGreaterThanOrEqual(startsAt - 50);
    expect(Date.now() - startsAt).toBeLessThan(1000);
    const endsAt = startsAt + 1200;
    await eventually(async () => expect(await liveIds()).not.toContain(deal.id), 2500);
    expect(Date.now()).toBeGreaterThanOrEqual(endsAt - 50);
    expect(Date.now() - endsAt).toBeLessThan(1000);
  });
});

describe("ETag and 304", () => {
  test("the ETag holds while the content does, and changes when it changes", async () => {
    const first = await call(gw, "GET", "/products/deals?size=100");
    const again = await call(gw, "GET", "/products/deals?size=100");
    expect(first.headers.get("etag")).toMatch(/^"[^"]+"$/);
    expect(JSON.stringify(again.body) === JSON.stringify(first.body)).toBe(again.headers.get("etag") === first.headers.get("etag"));

    const etag = again.headers.get("etag")!;
    const notModified = await fetch(`${gw}/products/deals?size=100`, { headers: { "if-none-match": etag } });
    expect(notModified.status).toBe(304);
    expect(await notModified.text()).toBe("");
    expect(notModified.headers.get("etag")).toBe(etag);

    const deal = await newDeal(-1000, 3_600_000);
    await eventually(async () => expect(await liveIds()).toContain(deal.id), 1000);
    const changed = await fetch(`${gw}/products/deals?size=100`, { headers: { "if-none-match": etag } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
    const body = (await changed.json()) as { items: { id: string }[] };
    expect(body.items.map((d) => d.id)).toContain(deal.id);
  });

  test("the product list page has an ETag and answers 304 too", async () => {
    const page = await call(gw, "GET", "/products?page=1&size=20");
    expect(page.status).toBe(200);
    const etag = page.headers.get("etag");
    expect(etag).toMatch(/^"[^"]+"$/);
    const res = await fetch(`${gw}/products?page=1&size=20`, { headers: { "if-none-match": etag! } });
    // A product created meanwhile by another test file is a legitimate 200 with a new ETag.
    if (res.status === 200) expect(res.headers.get("etag")).not.toBe(etag);
    else expect(res.status).toBe(304);
  });
});

describe("paging of the deal list", () => {
  test.each(["page=0", "size=0", "size=101", "size=abc", "page=-1", "page=1.5"])("%s is 422 VALIDATION_ERROR", async (query) => {
    expectError(await call(gw, "GET", `/products/deals?${query}`), 422, "VALIDATION_ERROR");
  });

  test("pages split the list without overlap", async () => {
    for (let i = 0; i < 3; i++) await newDeal(-1000, 3_600_000);
    await Bun.sleep(600);
    const whole = await call(gw, "GET", "/products/deals?size=100");
    const total = whole.body.total as number;
    expect(total).toBeGreaterThanOrEqual(3);
    const p1 = await call(gw, "GET", "/products/deals?page=1&size=2");
    const p2 = await call(gw, "GET", "/products/deals?page=2&size=2");
    expect({ page: p1.body.page, size: p1.body.size, n: p1.body.items.length }).toEqual({ page: 1, size: 2, n: 2 });
    const ids = [...p1.body.items, ...p2.body.items].map((d: { id: string }) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("several product instances", () => {
  test("a second instance sees a deal created through the first, by NOTIFY alone", async () => {
    const stack = await testStack();
    // A timer this long cannot be what makes the change visible: only NOTIFY can.
    second = await startService("product", { ...stack.databaseEnv, SNAPSHOT_REFRESH_MS: "60000" });
    const before = await liveIds(second.url);
    const deal = await newDeal(-1000, 3_600_000);
    expect(before).not.toContain(deal.id);
    const took = await eventually(async () => expect(await liveIds(second!.url)).toContain(deal.id), 1000);
    expect(took).toBeLessThan(1000);
    await sql`update product.deals set remaining_stock = 0 where id = ${deal.id}`;
    await eventually(async () => expect(await liveIds(second!.url)).not.toContain(deal.id), 1000);
  });
});

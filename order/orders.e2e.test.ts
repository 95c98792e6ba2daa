/**
 * The contract's Order section through the gateway, with the database checked behind: every
 * rule and error, nothing written on a refusal, stock given back on cancel, idempotency keys,
 * prices and names kept after the product changes.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { call, eventually, expectError } from "../dev/testing/http.ts";
import { STACK_START_TIMEOUT_MS, TEST_JWT_SECRET, testStack } from "../dev/testing/test-stack.ts";
import { accessToken } from "../dev/testing/tokens.ts";
import { useEndToEndTimeouts } from "../dev/testing/timeouts.ts";

useEndToEndTimeouts();

let gw = "";
let admin = "";
let sql: postgres.Sql;

beforeAll(async () => {
  const stack = await testStack();
  gw = stack.gatewayUrl;
  sql = postgres(stack.databaseUrl, { max: 2, onnotice: () => {} });
  admin = accessToken(TEST_JWT_SECRET);
  return () => sql.end();
}, STACK_START_TIMEOUT_MS);

const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();

async function newProduct(stock = 10, price = 1000) {
  const res = await call(gw, "POST", "/products", { token: admin, body: { name: `order product ${crypto.randomUUID()}`, price, stock } });
  expect(res.status).toBe(201);
  return res.body as { id: string; name: string; price: number };
}

async function newDeal(productId: string, o: { stock?: number; price?: number; maxPerUser?: number | null; startsInMs?: number; endsInMs?: number } = {}) {
  const body: Record<string, unknown> = {
    product_id: productId,
    deal_price: o.price ?? 500,
    deal_stock: o.stock ?? 5,
    starts_at: at(o.startsInMs ?? -1000),
    ends_at: at(o.endsInMs ?? 3_600_000),
  };
  if (o.maxPerUser !== undefined) body.max_per_user = o.maxPerUser;
  const res = await call(gw, "POST", "/products/deals", { token: admin, body });
  expect(res.status).toBe(201);
  return res.body as { id: string; max_per_user: number | null };
}

const order = (token: string, body: unknown, headers: Record<string, string> = {}) => call(gw, "POST", "/orders", { token, body, headers });
const stockOf = async (productId: string) => (await sql`select stock from product.products where id = ${productId}`)[0]!.stock as number;
const remainingOf = async (dealId: string) => (await sql`select remaining_stock from product.deals where id = ${dealId}`)[0]!.remaining_stock as number;
const ordersOf = async (userId: string) => Number((await sql`select count(*) from orders.orders where user_id = ${userId}`)[0]!.count);

const ADDRESS = { recipient_name: "Kim Minji", phone: "010-1234-5678", address: "1 Sejong-daero, Seoul", address_detail: "Apt 301", postal_code: "04524" };

describe("placing an order", () => {
  test("a plain item and a deal item: 201 confirmed, prices, totals, stock taken from product and deal", async () => {
    const user = crypto.randomUUID();
    const token = accessToken(TEST_JWT_SECRET, user);
    const product = await newProduct(10, 1200);
    const deal = await newDeal(product.id, { stock: 5, price: 700 });
    const res = await order(token, { items: [{ product_id: product.id, quantity: 2 }, { product_id: product.id, deal_id: deal.id, quantity: 3 }], shipping_address: ADDRESS });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(["cancel_reason", "cancelled_at", "created_at", "id", "items", "shipping_address", "status", "total_amount", "updated_at", "user_id"]);
    expect(res.body).toMatchObject({ user_id: user, status: "confirmed", total_amount: 2 * 1200 + 3 * 700, shipping_address: ADDRESS, cancelled_at: null, cancel_reason: null });
    expect(res.body.items).toEqual([
      { id: expect.any(String), product_id: product.id, deal_id: null, product_name: product.name, quantity: 2, unit_price: 1200, subtotal: 2400 },
      { id: expect.any(String), product_id: product.id, deal_id: deal.id, product_name: product.name, quantity: 3, unit_price: 700, subtotal: 2100 },
    ]);
    expect(await stockOf(product.id)).toBe(5);
    expect(await remainingOf(deal.id)).toBe(2);
    // Read back: the same order, from the database.
    const read = await call(gw, "GET", `/orders/${res.body.id}`, { token });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(res.body);
  });

  test("without a shipping address the order has null; address_detail is optional", async () => {
    const product = await newProduct();
    const token = accessToken(TEST_JWT_SECRET);
    const none = await order(token, { items: [{ product_id: product.id, quantity: 1 }] });
    expect(none.status).toBe(201);
    expect(none.body.shipping_address).toBeNull();
    const explicitNull = await order(token, { items: [{ product_id: product.id, quantity: 1 }], shipping_address: null });
    expect({ status: explicitNull.status, address: explicitNull.body.shipping_address }).toEqual({ status: 201, address: null });
    const { address_detail: _, ...short } = ADDRESS;
    const noDetail = await order(token, { items: [{ product_id: product.id, quantity: 1 }], shipping_address: { ...short, phone: "01012345678" } });
    expect(noDetail.status).toBe(201);
    expect(noDetail.body.shipping_address).toEqual({ ...short, phone: "01012345678", address_detail: null });
  });

  test("no token: 401 UNAUTHORIZED; a bad token: 401 INVALID_TOKEN; health is public", async () => {
    expectError(await call(gw, "POST", "/orders", { body: { items: [] } }), 401, "UNAUTHORIZED");
    expectError(await call(gw, "GET", "/orders"), 401, "UNAUTHORIZED");
    expectError(await call(gw, "GET", "/orders", { token: accessToken("another key entirely, 0123456789abcdef") }), 401, "INVALID_TOKEN");
    const health = await call(gw, "GET", "/orders/health");
    expect(health).toMatchObject({ status: 200, body: { status: "healthy", service: "order-service" } });
  });

  const BAD: [string, (p: string) => unknown, string][] = [
    ["no items", () => ({ items: [] }), "items"],
    ["11 items", (p) => ({ items: Array.from({ length: 11 }, () => ({ product_id: p, quantity: 1 })) }), "items"],
    ["quantity 0", (p) => ({ items: [{ product_id: p, quantity: 0 }] }), "quantity"],
    ["quantity 11", (p) => ({ items: [{ product_id: p, quantity: 11 }] }), "quantity"],
    ["quantity as a string", (p) => ({ items: [{ product_id: p, quantity: "1" }] }), "quantity"],
    ["missing product_id", () => ({ items: [{ quantity: 1 }] }), "product_id"],
    ["recipient_name empty", (p) => ({ items: [{ product_id: p, quantity: 1 }], shipping_address: { ...ADDRESS, recipient_name: "" } }), "recipient_name"],
    ["recipient_name of 51", (p) => ({ items: [{ product_id: p, quantity: 1 }], shipping_address: { ...ADDRESS, recipient_name: "r".repeat(51) } }), "recipient_name"],
    ["phone not Korean mobile", (p) => ({ items: [{ product_id: p, quantity: 1 }], shipping_address: { ...ADDRESS, phone: "020-1234-5678" } }), "phone"],
    ["address of 201", (p) => ({ items: [{ product_id: p, quantity: 1 }], shipping_address: { ...ADDRESS, address: "a".repeat(201) } }), "address"],
    ["address_detail of 101", (p) => ({ items: [{ product_id: p, quantity: 1 }], shipping_address: { ...ADDRESS, address_detail: "d".repeat(101) } }), "address_detail"],
    ["postal_code of 4 digits", (p) => ({ items: [{ product_id: p, quantity: 1 }], shipping_address: { ...ADDRESS, postal_code: "1234" } }), "postal_code"],
    ["postal_code missing", (p) => ({ items: [{ product_id: p, quantity: 1 }], shipping_address: { ...ADDRESS, postal_code: undefined } }), "postal_code"],
  ];
  test.each(BAD)("%s: 422 VALIDATION_ERROR naming the field, nothing written", async (_, body, field) => {
    const user = crypto.randomUUID();
    const product = await newProduct();
    const res = await order(accessToken(TEST_JWT_SECRET, user), body(product.id));
    expectError(res, 422, "VALIDATION_ERROR");
    expect(JSON.stringify(res.body.details)).toContain(field);
    expect(res.body.message).not.toContain("should be one of");
    expect(await ordersOf(user)).toBe(0);
    expect(await stockOf(product.id)).toBe(10);
  });

  test("malformed JSON: 422 VALIDATION_ERROR", async () => {
    expectError(await call(gw, "POST", "/orders", { token: admin, raw: "{not json" }), 422, "VALIDATION_ERROR");
  });

  test("text no database can store, or a body nested too deep: 422 for that request alone, the orders beside it placed", async () => {
    const bad = accessToken(TEST_JWT_SECRET, crypto.randomUUID());
    const good = crypto.randomUUID();
    const product = await newProduct(20);
    const poisoned = [
      { ...ADDRESS, recipient_name: "Kim\u0000Minji" },
      { ...ADDRESS, address_detail: "Apt \ud800" },
    ].map((shipping_address) => ({ items: [{ product_id: product.id, quantity: 1 }], shipping_address }));
    const answers = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => order(bad, poisoned[i % 2])),
      ...Array.from({ length: 10 }, () => order(accessToken(TEST_JWT_SECRET, good), { items: [{ product_id: product.id, quantity: 1 }], shipping_address: ADDRESS })),
    ]);
    for (const [i, res] of answers.slice(0, 10).entries()) {
      expectError(res, 422, "VALIDATION_ERROR");
      expect(res.body.details).toEqual({ field: i % 2 ? "shipping_address.address_detail" : "shipping_address.recipient_name" });
    }
    expect(answers.slice(10).map((r) => r.status)).toEqual(Array(10).fill(201));
    const deep = '{"items":'.repeat(50_000) + "1" + "}".repeat(50_000);
    const nested = await call(gw, "POST", "/orders", { token: bad, raw: deep });
    expectError(nested, 422, "VALIDATION_ERROR");
    expect(nested.body.message).toContain("nested deeper than");
    expect([await ordersOf(good), await stockOf(product.id)]).toEqual([10, 10]);
  });

  test("a sold-out deal named with another product: INVALID_DEAL every time, sold out for its own product", async () => {
    const token = accessToken(TEST_JWT_SECRET, crypto.randomUUID());
    const product = await newProduct();
    const other = await newProduct();
    const deal = await newDeal(product.id, { stock: 1 });
    expect((await order(token, { items: [{ product_id: product.id, deal_id: deal.id, quantity: 1 }] })).status).toBe(201);
    for (let i = 0; i < 2; i++) expectError(await order(token, { items: [{ product_id: other.id, deal_id: deal.id, quantity: 1 }] }), 400, "INVALID_DEAL");
    const soldOut = await order(token, { items: [{ product_id: product.id, deal_id: deal.id, quantity: 1 }] });
    expectError(soldOut, 400, "DEAL_NOT_ACTIVE");
    expect(soldOut.body.details).toMatchObject({ status: "sold_out" });
  });

  test("unknown product, unknown deal, deal of another product: 404/404/400, nothing taken", async () => {
    const user = crypto.randomUUID();
    const token = accessToken(TEST_JWT_SECRET, user);
    const product = await newProduct();
    const other = await newProduct();
    const deal = await newDeal(other.id);
    const missing = crypto.randomUUID();
    const noProduct = await order(token, { items: [{ product_id: product.id, quantity: 1 }, { product_id: missing, quantity: 1 }] });
    expectError(noProduct, 404, "PRODUCT_NOT_FOUND");
    expect(noProduct.body.details).toEqual({ product_id: missing });
    expectError(await order(token, { items: [{ product_id: "not-a-uuid", quantity: 1 }] }), 404, "PRODUCT_NOT_FOUND");
    const noDeal = await order(token, { items: [{ product_id: product.id, deal_id: missing, quantity: 1 }] });
    expectError(noDeal, 404, "DEAL_NOT_FOUND");
    expect(noDeal.body.details).toEqual({ deal_id: missing });
    expectError(await order(token, { items: [{ product_id: product.id, deal_id: "nope", quantity: 1 }] }), 404, "DEAL_NOT_FOUND");
    const wrong = await order(token, { items: [{ product_id: product.id, deal_id: deal.id, quantity: 1 }] });
    expectError(wrong, 400, "INVALID_DEAL");
    expect(wrong.body.details).toMatchObject({ deal_id: deal.id, product_id: product.id });
    expect(await ordersOf(user)).toBe(0);
    expect([await stockOf(product.id), await stockOf(other.id), await remainingOf(deal.id)]).toEqual([10, 10, 5]);
  });

  test("a deal not active: 400 DEAL_NOT_ACTIVE with details.status scheduled, ended or sold_out", async () => {
    const token = accessToken(TEST_JWT_SECRET);
    const product = await newProduct();
    const scheduled = await newDeal(product.id, { startsInMs: 3_600_000, endsInMs: 7_200_000 });
    const ended = await newDeal(product.id, { startsInMs: -7_200_000, endsInMs: -3_600_000 });
    const soldOut = await newDeal(product.id, { stock: 1 });
    expect((await order(token, { items: [{ product_id: product.id, deal_id: soldOut.id, quantity: 1 }] })).status).toBe(201);
    for (const [deal, status] of [[scheduled, "scheduled"], [ended, "ended"], [soldOut, "sold_out"]] as const) {
      const res = await order(token, { items: [{ product_id: product.id, deal_id: deal.id, quantity: 1 }] });
      expectError(res, 400, "DEAL_NOT_ACTIVE");
      expect(res.body.details).toMatchObject({ deal_id: deal.id, status });
    }
    expect(await stockOf(product.id)).toBe(9);
  });

  test("not enough stock: 400 INSUFFICIENT_STOCK naming the deal or the product", async () => {
    const token = accessToken(TEST_JWT_SECRET);
    const product = await newProduct(3);
    const deal = await newDeal(product.id, { stock: 2 });
    const fromDeal = await order(token, { items: [{ product_id: product.id, deal_id: deal.id, quantity: 3 }] });
    expectError(fromDeal, 400, "INSUFFICIENT_STOCK");
    expect(fromDeal.body.details).toMatchObject({ deal_id: deal.id, requested: 3, available: 2 });
    const fromProduct = await order(token, { items: [{ product_id: product.id, quantity: 4 }] });
    expectError(fromProduct, 400, "INSUFFICIENT_STOCK");
    expect(fromProduct.body.details).toMatchObject({ product_id: product.id, requested: 4, available: 3 });
  });

  test("several items take all their stock or none", async () => {
    const user = crypto.randomUUID();
    const token = accessToken(TEST_JWT_SECRET, user);
    const a = await newProduct(5);
    const b = await newProduct(1);
    const deal = await newDeal(a.id, { stock: 3 });
    const res = await order(token, { items: [{ product_id: a.id, quantity: 2 }, { product_id: a.id, deal_id: deal.id, quantity: 2 }, { product_id: b.id, quantity: 2 }] });
    expectError(res, 400, "INSUFFICIENT_STOCK");
    expect(res.body.details).toMatchObject({ product_id: b.id });
    expect([await stockOf(a.id), await stockOf(b.id), await remainingOf(deal.id), await ordersOf(user)]).toEqual([5, 1, 3, 0]);
    // The same product named twice counts both items against its stock.
    expectError(await order(token, { items: [{ product_id: b.id, quantity: 1 }, { product_id: b.id, quantity: 1 }] }), 400, "INSUFFICIENT_STOCK");
    expect(await stockOf(b.id)).toBe(1);
  });

  test("max_per_user: a user holds at most that many units of the deal; a cancel frees them", async () => {
    const user = crypto.randomUUID();
    const token = accessToken(TEST_JWT_SECRET, user);
    const product = await newProduct(20);
    const deal = await newDeal(product.id, { stock: 10, maxPerUser: 2 });
    expect(deal.max_per_user).toBe(2);
    const first = await order(token, { items: [{ product_id: product.id, deal_id: deal.id, quantity: 2 }] });
    expect(first.status).toBe(201);
    const over = await order(token, { items: [{ product_id: product.id, deal_id: deal.id, quantity: 1 }] });
    expectError(over, 400, "PURCHASE_LIMIT_EXCEEDED");
    expect(over.body.details).toMatchObject({ deal_id: deal.id, limit: 2 });
    // Another user has their own allowance; the limit is per deal, not per product.
    expect((await order(accessToken(TEST_JWT_SECRET), { items: [{ product_id: product.id, deal_id: deal.id, quantity: 2 }] })).status).toBe(201);
    expect((await order(token, { items: [{ product_id: product.id, quantity: 3 }] })).status).toBe(201);
    expect((await call(gw, "POST", `/orders/${first.body.id}/cancel`, { token })).status).toBe(200);
    expect((await order(token, { items: [{ product_id: product.id, deal_id: deal.id, quantity: 2 }] })).status).toBe(201);
  });
});

describe("deals carry max_per_user", () => {
  test("absent is null, a number is kept, in the deal, by id and in the live list", async () => {
    const product = await newProduct();
    const none = await newDeal(product.id);
    expect(none.max_per_user).toBeNull();
    const limited = await newDeal(product.id, { maxPerUser: 3 });
    expect((await call(gw, "GET", `/products/deals/${limited.id}`)).body.max_per_user).toBe(3);
    const { eventually } = await import("../dev/testing/http.ts");
    await eventually(async () => {
      const list = await call(gw, "GET", "/products/deals?size=100");
      expect(list.body.items.find((d: { id: string }) => d.id === limited.id)?.max_per_user).toBe(3);
    }, 2000);
  });

  test.each([0, -1, 1.5, "2"])("max_per_user %p: 422 VALIDATION_ERROR", async (value) => {
    const product = await newProduct();
    const res = await call(gw, "POST", "/products/deals", {
      token: admin,
      body: { product_id: product.id, deal_price: 1, deal_stock: 1, starts_at: at(0), ends_at: at(1000), max_per_user: value },
    });
    expectError(res, 422, "VALIDATION_ERROR");
    expect(JSON.stringify(res.body.details)).toContain("max_per_user");
  });
});

describe("reading and listing", () => {
  test("the caller's orders, newest first, filtered by status and paged; another user's order is 404", async () => {
    const user = crypto.randomUUID();
    const token = accessToken(TEST_JWT_SECRET, user);
    const product = await newProduct(10);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await order(token, { items: [{ product_id: product.id, quantity: 1 }] })).body.id);
      await Bun.sleep(5);
    }
    await call(gw, "POST", `/orders/${ids[0]}/cancel`, { token });
    const all = await call(gw, "GET", "/orders", { token });
    expect(all.status).toBe(200);
    expect({ total: all.body.total, page: all.body.page, size: all.body.size }).toEqual({ total: 3, page: 1, size: 20 });
    expect(all.body.items.map((o: { id: string }) => o.id)).toEqual([...ids].reverse());
    const confirmed = await call(gw, "GET", "/orders?status=confirmed", { token });
    expect(confirmed.body.items.map((o: { id: string }) => o.id)).toEqual([ids[2], ids[1]]);
    const cancelled = await call(gw, "GET", "/orders?status=cancelled", { token });
    expect(cancelled.body).toMatchObject({ total: 1, items: [{ id: ids[0], status: "cancelled" }] });
    const page2 = await call(gw, "GET", "/orders?page=2&size=2", { token });
    expect(page2.body).toMatchObject({ total: 3, page: 2, size: 2 });
    expect(page2.body.items.map((o: { id: string }) => o.id)).toEqual([ids[0]]);
    expect((await call(gw, "GET", "/orders?status=shipped", { token })).body).toEqual({ items: [], total: 0, page: 1, size: 20 });

    const stranger = accessToken(TEST_JWT_SECRET);
    expectError(await call(gw, "GET", `/orders/${ids[1]}`, { token: stranger }), 404, "NOT_FOUND");
    expect((await call(gw, "GET", "/orders", { token: stranger })).body.total).toBe(0);
    expectError(await call(gw, "POST", `/orders/${ids[1]}/cancel`, { token: stranger }), 404, "NOT_FOUND");
    expectError(await call(gw, "GET", `/orders/${crypto.randomUUID()}`, { token }), 404, "NOT_FOUND");
    expectError(await call(gw, "GET", "/orders/not-a-uuid", { token }), 404, "NOT_FOUND");
  });

  test.each([
    ["page=0", "page", "page must be an integer from 1 to 9999999"],
    ["page=x", "page", "page must be an integer from 1 to 9999999"],
    ["size=0", "size", "size must be an integer from 1 to 100"],
    ["size=101", "size", "size must be an integer from 1 to 100"],
    ["status=lost", "status", "status must be one of pending, confirmed, shipped, delivered, cancelled"],
  ])("%s: 422 VALIDATION_ERROR naming the field and the rule in words", async (query, field, message) => {
    const res = await call(gw, "GET", `/orders?${query}`, { token: admin });
    expectError(res, 422, "VALIDATION_ERROR");
    expect({ field: res.body.details.field, message: res.body.message }).toEqual({ field, message });
  });
});

describe("cancelling", () => {
  test("200 cancelled with time and reason; product and deal stock given back; again: 400 CANNOT_CANCEL", async () => {
    const token = accessToken(TEST_JWT_SECRET);
    const product = await newProduct(10);
    const deal = await newDeal(product.id, { stock: 5 });
    const placed = await order(token, { items: [{ product_id: product.id, deal_id: deal.id, quantity: 2 }, { product_id: product.id, quantity: 1 }] });
    expect([await stockOf(product.id), await remainingOf(deal.id)]).toEqual([7, 3]);
    const res = await call(gw, "POST", `/orders/${placed.body.id}/cancel`, { token, body: { reason: "changed my mind" } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: placed.body.id, status: "cancelled", cancel_reason: "changed my mind", items: placed.body.items, total_amount: placed.body.total_amount });
    expect(Date.parse(res.body.cancelled_at)).toBeGreaterThan(Date.parse(placed.body.created_at) - 1);
    expect([await stockOf(product.id), await remainingOf(deal.id)]).toEqual([10, 5]);
    const again = await call(gw, "POST", `/orders/${placed.body.id}/cancel`, { token });
    expectError(again, 400, "CANNOT_CANCEL");
    expect(again.body.details).toEqual({ status: "cancelled" });
    expect([await stockOf(product.id), await remainingOf(deal.id)]).toEqual([10, 5]);
  });

  test("shipped or delivered: 400 CANNOT_CANCEL; a reason over 500 characters: 422", async () => {
    const token = accessToken(TEST_JWT_SECRET);
    const product = await newProduct(10);
    for (const status of ["shipped", "delivered"]) {
      const placed = await order(token, { items: [{ product_id: product.id, quantity: 1 }] });
      await sql`update orders.orders set status = ${status} where id = ${placed.body.id}`;
      const res = await call(gw, "POST", `/orders/${placed.body.id}/cancel`, { token });
      expectError(res, 400, "CANNOT_CANCEL");
      expect(res.body.details).toEqual({ status });
    }
    const placed = await order(token, { items: [{ product_id: product.id, quantity: 1 }] });
    expectError(await call(gw, "POST", `/orders/${placed.body.id}/cancel`, { token, body: { reason: "r".repeat(501) } }), 422, "VALIDATION_ERROR");
    expect(await stockOf(product.id)).toBe(7);
  });

  test("a reason no database can store: 422, the order still confirmed and its stock still taken", async () => {
    const token = accessToken(TEST_JWT_SECRET);
    const product = await newProduct(10);
    const placed = await order(token, { items: [{ product_id: product.id, quantity: 2 }] });
    const res = await call(gw, "POST", `/orders/${placed.body.id}/cancel`, { token, body: { reason: "a\u0000b" } });
    expectError(res, 422, "VALIDATION_ERROR");
    expect(res.body.details).toEqual({ field: "reason" });
    expect((await call(gw, "GET", `/orders/${placed.body.id}`, { token })).body.status).toBe("confirmed");
    expect(await stockOf(product.id)).toBe(8);
  });

  test("a body that is not JSON, or JSON but not an object: 422, the order not cancelled; no body or null: cancelled", async () => {
    const token = accessToken(TEST_JWT_SECRET);
    const product = await newProduct(10);
    const place = async () => (await order(token, { items: [{ product_id: product.id, quantity: 1 }] })).body.id as string;
    const id = await place();
    for (const raw of ["{x", '{"reason":"r"', "[]", '"x"', "5"]) expectError(await call(gw, "POST", `/orders/${id}/cancel`, { token, raw }), 422, "VALIDATION_ERROR");
    const malformed = await call(gw, "POST", `/orders/${id}/cancel`, { token, raw: "{x" });
    expect({ message: malformed.body.message, details: malformed.body.details }).toEqual({ message: "The body is not valid JSON", details: { field: "body" } });
    expectError(await call(gw, "POST", `/orders/${id}/cancel`, { token, raw: "hello", headers: { "content-type": "text/plain" } }), 422, "VALIDATION_ERROR");
    expect((await call(gw, "GET", `/orders/${id}`, { token })).body.status).toBe("confirmed");
    expect(await stockOf(product.id)).toBe(9);
    expect((await call(gw, "POST", `/orders/${id}/cancel`, { token, raw: "null" })).body).toMatchObject({ status: "cancelled", cancel_reason: null });
    expect((await call(gw, "POST", `/orders/${await place()}/cancel`, { token })).body).toMatchObject({ status: "cancelled", cancel_reason: null });
    expect(await stockOf(product.id)).toBe(10);
  });

  test("twice at once: one 200, one CANNOT_CANCEL, the stock given back once", async () => {
    const token = accessToken(TEST_JWT_SECRET);
    const product = await newProduct(10);
    const deal = await newDeal(product.id, { stock: 5 });
    const placed = await order(token, { items: [{ product_id: product.id, deal_id: deal.id, quantity: 3 }] });
    const results = await Promise.all(Array.from({ length: 2 }, () => call(gw, "POST", `/orders/${placed.body.id}/cancel`, { token })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
    expect([await stockOf(product.id), await remainingOf(deal.id)]).toEqual([10, 5]);
  });
});

describe("an order keeps what was bought", () => {
  test("price and product name stay as they were after the product changes", async () => {
    const token = accessToken(TEST_JWT_SECRET);
    const product = await newProduct(10, 1000);
    const placed = await order(token, { items: [{ product_id: product.id, quantity: 1 }] });
    expect((await call(gw, "PATCH", `/products/${product.id}`, { token: admin, body: { name: "renamed", price: 5000 } })).status).toBe(200);
    const read = await call(gw, "GET", `/orders/${placed.body.id}`, { token });
    expect(read.body.items[0]).toMatchObject({ product_name: product.name, unit_price: 1000, subtotal: 1000 });
    expect(read.body.total_amount).toBe(1000);
  });
});

describe("Idempotency-Key", () => {
  test("the same key again: the first answer, one order; another body: 422 IDEMPOTENCY_KEY_REUSED; another user: their own", async () => {
    const user = crypto.randomUUID();
    const token = accessToken(TEST_JWT_SECRET, user);
    const product = await newProduct(10);
    const body = { items: [{ product_id: product.id, quantity: 1 }], shipping_address: ADDRESS };
    const key = { "idempotency-key": `key-${crypto.randomUUID()}` };
    const first = await order(token, body, key);
    expect(first.status).toBe(201);
    // The same request with its JSON keys in another order is the same request.
    const reordered = { shipping_address: { ...ADDRESS }, items: [{ quantity: 1, product_id: product.id }] };
    const again = await order(token, reordered, key);
    expect({ status: again.status, body: again.body }).toEqual({ status: 201, body: first.body });
    expectError(await order(token, { items: [{ product_id: product.id, quantity: 2 }] }, key), 422, "IDEMPOTENCY_KEY_REUSED");
    expect(await ordersOf(user)).toBe(1);
    expect(await stockOf(product.id)).toBe(9);
    const other = await order(accessToken(TEST_JWT_SECRET), body, key);
    expect(other.status).toBe(201);
    expect(other.body.id).not.toBe(first.body.id);
  });

  test("a refused order's answer is replayed too, even after stock returns", async () => {
    const token = accessToken(TEST_JWT_SECRET);
    const product = await newProduct(1);
    const key = { "idempotency-key": `refused-${crypto.randomUUID()}` };
    const body = { items: [{ product_id: product.id, quantity: 2 }] };
    const first = await order(token, body, key);
    expectError(first, 400, "INSUFFICIENT_STOCK");
    await sql`update product.products set stock = 10 where id = ${product.id}`;
    const again = await order(token, body, key);
    expect({ status: again.status, body: again.body }).toEqual({ status: 400, body: first.body });
  });

  test.each(["", "a".repeat(129), "has space", "ünïcode", "semi;colon"])("a malformed key %p: 422 VALIDATION_ERROR, nothing created", async (bad) => {
    const user = crypto.randomUUID();
    const product = await newProduct();
    const res = await fetch(`${gw}/orders`, {
      method: "POST",
      headers: { authorization: `Bearer ${accessToken(TEST_JWT_SECRET, user)}`, "content-type": "application/json", "idempotency-key": bad },
      body: JSON.stringify({ items: [{ product_id: product.id, quantity: 1 }] }),
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: string }).error).toBe("VALIDATION_ERROR");
    expect(await ordersOf(user)).toBe(0);
  });

  test("a key used more than 24 hours ago is free again", async () => {
    const user = crypto.randomUUID();
    const token = accessToken(TEST_JWT_SECRET, user);
    const product = await newProduct(10);
    const key = { "idempotency-key": `old-${crypto.randomUUID()}` };
    const first = await order(token, { items: [{ product_id: product.id, quantity: 1 }] }, key);
    await sql`update orders.idempotency_keys set created_at = now() - interval '25 hours' where user_id = ${user}`;
    const later = await order(token, { items: [{ product_id: product.id, quantity: 2 }] }, key);
    expect(later.status).toBe(201);
    expect(later.body.id).not.toBe(first.body.id);
    expect(await ordersOf(user)).toBe(2);
  });

  test("keys older than 24 hours are deleted by the sweep; younger ones stay", async () => {
    const user = crypto.randomUUID();
    const token = accessToken(TEST_JWT_SECRET, user);
    const product = await newProduct(10);
    for (const key of ["expired-1", "expired-2", "recent"]) expect((await order(token, { items: [{ product_id: product.id, quantity: 1 }] }, { "idempotency-key": key })).status).toBe(201);
    await sql`update orders.idempotency_keys set created_at = now() - interval '25 hours' where user_id = ${user} and key like 'expired-%'`;
    await eventually(async () => {
      const left = await sql<{ key: string }[]>`select key from orders.idempotency_keys where user_id = ${user} order by key`;
      expect(left.map((k) => k.key)).toEqual(["recent"]);
    }, 5_000);
    expect(await ordersOf(user)).toBe(3);
  });
});

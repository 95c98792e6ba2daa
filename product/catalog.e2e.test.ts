/**
 * Products and stock through the gateway, as a client sees them, with the database checked
 * behind: bad input is refused whole (nothing written), hostile strings come back verbatim,
 * stock never goes below zero.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { call, eventually, expectError, registerAndLogin } from "../dev/testing/http.ts";
import { STACK_START_TIMEOUT_MS, testStack } from "../dev/testing/test-stack.ts";
import { useEndToEndTimeouts } from "../dev/testing/timeouts.ts";

useEndToEndTimeouts();

let gw = "";
let token = "";
let sql: postgres.Sql;

beforeAll(async () => {
  const stack = await testStack();
  gw = stack.gatewayUrl;
  sql = postgres(stack.databaseUrl, { max: 2, onnotice: () => {} });
  token = (await registerAndLogin(gw, "catalog")).access;
  return () => sql.end();
}, STACK_START_TIMEOUT_MS);

const productCount = async () => Number((await sql`select count(*) from product.products`)[0]!.count);
const create = (body: unknown) => call(gw, "POST", "/products", { token, body });
const valid = () => ({ name: `catalog ${crypto.randomUUID()}`, description: "a thing", price: 1999, stock: 7, category: "kitchen", image_url: "https://example.com/a.png" });

describe("products", () => {
  test("create, read, change: the contract's shapes", async () => {
    const input = valid();
    const created = await create(input);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject(input);
    expect(Object.keys(created.body).sort()).toEqual(["category", "created_at", "description", "id", "image_url", "name", "price", "stock", "updated_at"]);
    const read = await call(gw, "GET", `/products/${created.body.id}`);
    expect(read.body).toEqual(created.body);
    const patched = await call(gw, "PATCH", `/products/${created.body.id}`, { token, body: { price: 1500, category: null } });
    expect(patched.status).toBe(200);
    expect({ price: patched.body.price, category: patched.body.category, name: patched.body.name }).toEqual({ price: 1500, category: null, name: input.name });
    const [row] = await sql`select price, category from product.products where id = ${created.body.id}`;
    expect(row).toEqual({ price: 1500, category: null });
  });

  const BAD: [string, unknown, string][] = [
    ["empty name", { ...valid(), name: "" }, "name"],
    ["name of 201 characters", { ...valid(), name: "x".repeat(201) }, "name"],
    ["description of 5001 characters", { ...valid(), description: "d".repeat(5001) }, "description"],
    ["negative price", { ...valid(), price: -1 }, "price"],
    ["price as a string", { ...valid(), price: "10" }, "price"],
    ["fractional price", { ...valid(), price: 10.5 }, "price"],
    ["negative stock", { ...valid(), stock: -3 }, "stock"],
    ["missing stock", { name: "no stock", price: 1 }, "stock"],
    ["category of 51 characters", { ...valid(), category: "c".repeat(51) }, "category"],
    ["image_url that is not a URI", { ...valid(), image_url: "not a uri" }, "image_url"],
    ["an array instead of an object", [1, 2, 3], ""],
  ];
  test.each(BAD)("%s: 422 VALIDATION_ERROR naming the field, nothing written", async (_, body, field) => {
    const before = await productCount();
    const res = await create(body);
    expectError(res, 422, "VALIDATION_ERROR");
    if (field) expect(JSON.stringify(res.body.details)).toContain(field);
    expect(await productCount()).toBe(before);
  });

  test("malformed JSON is 422, not 500", async () => {
    const before = await productCount();
    expectError(await call(gw, "POST", "/products", { token, raw: '{"name": "x", "price": ' }), 422, "VALIDATION_ERROR");
    expect(await productCount()).toBe(before);
  });

  test("a change that names stock is 422 pointing at /stock, and nothing of it is written", async () => {
    const p = (await create({ ...valid(), stock: 5 })).body;
    const res = await call(gw, "PATCH", `/products/${p.id}`, { token, body: { stock: 9, name: "renamed with stock" } });
    expectError(res, 422, "VALIDATION_ERROR");
    expect(res.body.details).toEqual({ field: "stock" });
    expect(res.body.message).toContain("/products/{id}/stock");
    const [row] = await sql`select stock, name from product.products where id = ${p.id}`;
    expect(row).toEqual({ stock: 5, name: p.name });
  });

  test.each([
    ["/products?size=abc", "size", "size must be an integer from 1 to 100"],
    ["/products?size=101", "size", "size must be an integer from 1 to 100"],
    ["/products?page=0", "page", "page must be an integer from 1 to 9999999"],
    [`/products?category=${"c".repeat(51)}`, "category", "category must be at most 50 characters"],
    ["/products/deals?size=0", "size", "size must be an integer from 1 to 100"],
    ["/products/deals?page=x", "page", "page must be an integer from 1 to 9999999"],
  ])("a bad query field says its rule in words: %s", async (path, field, message) => {
    const res = await call(gw, "GET", path);
    expectError(res, 422, "VALIDATION_ERROR");
    expect({ message: res.body.message, details: res.body.details }).toEqual({ message, details: { field } });
  });

  test("writes need a token; reads do not", async () => {
    expectError(await call(gw, "POST", "/products", { body: valid() }), 401, "UNAUTHORIZED");
    expectError(await call(gw, "POST", "/products", { body: valid(), token: "not.a.token" }), 401, "INVALID_TOKEN");
    expect((await call(gw, "GET", "/products")).status).toBe(200);
  });

  test("ids that are not UUIDs, and unknown ones, are 404", async () => {
    for (const id of ["123", "not-a-uuid", "%27%20or%201%3D1--", crypto.randomUUID()]) {
      expectError(await call(gw, "GET", `/products/${id}`), 404, "NOT_FOUND");
      expectError(await call(gw, "GET", `/products/${id}/stock`), 404, "NOT_FOUND");
    }
  });

  test("hostile strings are stored and returned exactly", async () => {
    const name = `Robert'); DROP TABLE product.products;-- <script>alert(1)</script> "quoted" \\ 🔥 ${crypto.randomUUID()}`;
    const description = "line one\nline two\ttab\u0000 is not allowed in text, so it is dropped below".replace("\u0000", "") + " é ü 漢字 \u202e";
    const created = await create({ ...valid(), name, description });
    expect(created.status).toBe(201);
    const read = await call(gw, "GET", `/products/${created.body.id}`);
    expect({ name: read.body.name, description: read.body.description }).toEqual({ name, description });
    expect(await productCount()).toBeGreaterThan(0);
  });

  test("text no database can store (a NUL, an unpaired surrogate), in a body or a query: 422 naming the field, nothing written", async () => {
    const before = await productCount();
    const nul = await create({ ...valid(), name: "a\u0000b" });
    expectError(nul, 422, "VALIDATION_ERROR");
    expect(nul.body.details).toEqual({ field: "name" });
    expectError(await create({ ...valid(), description: "\udc00" }), 422, "VALIDATION_ERROR");
    const query = await call(gw, "GET", "/products?category=a%00b");
    expectError(query, 422, "VALIDATION_ERROR");
    expect(query.body.details).toEqual({ field: "category" });
    expect(await productCount()).toBe(before);
  });

  test("the list is newest first and filters by category", async () => {
    const category = `cat-${crypto.randomUUID().slice(0, 8)}`;
    const a = await create({ ...valid(), category });
    const b = await create({ ...valid(), category });
    // List pages come from the in-memory snapshot: a write shows there within a second.
    await eventually(async () => {
      const list = await call(gw, "GET", `/products?category=${category}`);
      expect(list.status).toBe(200);
      expect({ total: list.body.total, page: list.body.page, size: list.body.size }).toEqual({ total: 2, page: 1, size: 20 });
      expect(list.body.items.map((p: { id: string }) => p.id)).toEqual([b.body.id, a.body.id]);
    }, 1000);
  });
});

describe("stock", () => {
  test("changes by a delta, never below zero, and a refused change leaves the stock as it was", async () => {
    const p = (await create({ ...valid(), stock: 5 })).body;
    const up = await call(gw, "PATCH", `/products/${p.id}/stock`, { token, body: { delta: 3 } });
    expect({ status: up.status, stock: up.body.stock, product_id: up.body.product_id }).toEqual({ status: 200, stock: 8, product_id: p.id });
    const down = await call(gw, "PATCH", `/products/${p.id}/stock`, { token, body: { delta: -8 } });
    expect(down.body.stock).toBe(0);
    expectError(await call(gw, "PATCH", `/products/${p.id}/stock`, { token, body: { delta: -1 } }), 400, "INSUFFICIENT_STOCK");
    const [row] = await sql`select stock from product.products where id = ${p.id}`;
    expect(row!.stock).toBe(0);
    const read = await call(gw, "GET", `/products/${p.id}/stock`);
    expect({ stock: read.body.stock, product_id: read.body.product_id, updated_at: typeof read.body.updated_at }).toEqual({ stock: 0, product_id: p.id, updated_at: "string" });
  });

  test.each([[{ delta: 1.5 }], [{ delta: "1" }], [{}], [{ delta: null }]])("a bad delta %j is 422", async (body) => {
    const p = (await create({ ...valid(), stock: 5 })).body;
    expectError(await call(gw, "PATCH", `/products/${p.id}/stock`, { token, body }), 422, "VALIDATION_ERROR");
    const [row] = await sql`select stock from product.products where id = ${p.id}`;
    expect(row!.stock).toBe(5);
  });

  test("100 concurrent buyers of 50 units: 50 succeed, 50 get INSUFFICIENT_STOCK, stock ends at 0", async () => {
    const p = (await create({ ...valid(), stock: 50 })).body;
    const results = await Promise.all(Array.from({ length: 100 }, () => call(gw, "PATCH", `/products/${p.id}/stock`, { token, body: { delta: -1 } })));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBe(50);
    expect(statuses.filter((s) => s === 400).length).toBe(50);
    for (const r of results.filter((x) => x.status === 400)) expectError(r, 400, "INSUFFICIENT_STOCK");
    const [row] = await sql`select stock from product.products where id = ${p.id}`;
    expect(row!.stock).toBe(0);
    // every successful answer saw a distinct stock level: no two buyers got the same unit
    expect(new Set(results.filter((r) => r.status === 200).map((r) => r.body.stock)).size).toBe(50);
  });
});

describe("deal creation", () => {
  const dealCount = async () => Number((await sql`select count(*) from product.deals`)[0]!.count);
  const soon = (ms: number) => new Date(Date.now() + ms).toISOString();
  let productId = "";
  beforeAll(async () => {
    productId = (await create({ ...valid(), price: 1000 })).body.id;
  });
  const deal = (over: Record<string, unknown>) => ({ product_id: productId, deal_price: 700, deal_stock: 3, starts_at: soon(-1000), ends_at: soon(60_000), ...over });

  test("201 with remaining_stock = deal_stock, the nested product and its price", async () => {
    const res = await call(gw, "POST", "/products/deals", { token, body: deal({}) });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ product_id: productId, deal_price: 700, original_price: 1000, deal_stock: 3, remaining_stock: 3, status: "active" });
    expect(res.body.product.id).toBe(productId);
    expect((await call(gw, "GET", `/products/deals/${res.body.id}`)).body.id).toBe(res.body.id);
  });

  test.each([
    ["deal_stock 0", { deal_stock: 0 }],
    ["negative deal_price", { deal_price: -1 }],
    ["deal_price as a string", { deal_price: "700" }],
    ["ends_at before starts_at", { starts_at: soon(5000), ends_at: soon(1000) }],
    ["a time without a zone", { starts_at: "2026-11-24T10:00:00" }],
    ["a time that is not a time", { ends_at: "tomorrow" }],
  ])("%s: 422, nothing written", async (_, over) => {
    const before = await dealCount();
    expectError(await call(gw, "POST", "/products/deals", { token, body: deal(over) }), 422, "VALIDATION_ERROR");
    expect(await dealCount()).toBe(before);
  });

  test("an unknown product is 404, and so is an id that is not a UUID", async () => {
    expectError(await call(gw, "POST", "/products/deals", { token, body: deal({ product_id: crypto.randomUUID() }) }), 404, "NOT_FOUND");
    expectError(await call(gw, "POST", "/products/deals", { token, body: deal({ product_id: "nope" }) }), 404, "NOT_FOUND");
    expectError(await call(gw, "GET", `/products/deals/${crypto.randomUUID()}`), 404, "NOT_FOUND");
    expectError(await call(gw, "GET", "/products/deals/nope"), 404, "NOT_FOUND");
  });
});

/**
 * Faults during a sale: the database stops, a service dies, instances restart one at a time.
 * These tests own their processes and database, so they can break them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import postgres from "postgres";
import { startEmbeddedDatabase, type EmbeddedDatabase } from "../dev/embedded-db.ts";
import { freePort } from "../dev/stack/free-port.ts";
import { call, eventually, expectError, registerAndLogin } from "../dev/testing/http.ts";
import { startService, type ServiceProcess } from "../dev/testing/service-process.ts";
import { useEndToEndTimeouts } from "../dev/testing/timeouts.ts";

useEndToEndTimeouts();

const SECRET = "fault-suite-secret-0123456789abcdef";
let db: EmbeddedDatabase;
let sql: postgres.Sql;
let auth: ServiceProcess;
let products: ServiceProcess[] = [];
let gateway: ServiceProcess;
let token = "";

const productEnv = (port: number) => ({
  DATABASE_URL: db.url,
  PRODUCT_PORT: String(port),
  // Only NOTIFY can make a change visible quickly, so the tests see whether LISTEN survives.
  SNAPSHOT_REFRESH_MS: "60000",
  SHUTDOWN_GRACE_MS: "5000",
});
const productPorts = [freePort(), freePort()];

beforeAll(async () => {
  db = await startEmbeddedDatabase({ dir: resolve(import.meta.dir, "../.data", `faults-${process.pid}`), port: freePort(), ephemeral: true });
  sql = postgres(db.url, { max: 2, onnotice: () => {} });
  auth = await startService("auth", { DATABASE_URL: db.url, JWT_SECRET: SECRET });
  products = [await startService("product", productEnv(productPorts[0]!)), await startService("product", productEnv(productPorts[1]!))];
  gateway = await startService("gateway", {
    JWT_SECRET: SECRET,
    AUTH_URL: auth.url,
    PRODUCT_URL: productPorts.map((p) => `http://127.0.0.1:${p}`).join(","),
    UPSTREAM_TIMEOUT_MS: "2000",
  });
  token = (await registerAndLogin(gateway.url, "faults")).access;
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all(products.map((p) => p.stop()));
  await auth?.stop();
  await sql?.end();
  await db?.close();
});

const createProduct = (name: string, stock = 10) => call(gateway.url, "POST", "/products", { token, body: { name, price: 100, stock } });
const createLiveDeal = (productId: string) =>
  call(gateway.url, "POST", "/products/deals", {
    token,
    body: { product_id: productId, deal_price: 50, deal_stock: 5, starts_at: new Date(Date.now() - 1000).toISOString(), ends_at: new Date(Date.now() + 3600_000).toISOString() },
  });
const dealIds = async (base: string) => ((await call(base, "GET", "/products/deals?size=100")).body.items as { id: string }[]).map((d) => d.id);

describe("stock across several product instances", () => {
  test("100 concurrent -1 changes on stock 50, spread over two instances: 50 succeed, stock ends at 0", async () => {
    const product = (await createProduct("contended", 50)).body;
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => call(`http://127.0.0.1:${productPorts[i % 2]}`, "PATCH", `/products/${product.id}/stock`, { body: { delta: -1 } })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(50);
    expect(results.filter((r) => r.status === 400 && r.body.error === "INSUFFICIENT_STOCK")).toHaveLength(50);
    const [row] = await sql`select stock from product.products where id = ${product.id}`;
    expect(row!.stock).toBe(0);
  });

  test("the database refuses a negative stock or remaining_stock whatever the code does", async () => {
    const product = (await createProduct("guarded", 1)).body;
    const deal = (await createLiveDeal(product.id)).body;
    expect(sql`update product.products set stock = -1 where id = ${product.id}`).rejects.toThrow(/check constraint/);
    expect(sql`update product.deals set remaining_stock = -1 where id = ${deal.id}`).rejects.toThrow(/check constraint/);
  });
});

describe("the database goes down and comes back", () => {
  test("hot reads keep answering from memory, writes get 503 fast, everything recovers without a restart", async () => {
    const product = (await createProduct("before the outage")).body;
    const deal = (await createLiveDeal(product.id)).body;
    // Both instances must hold it before the outage: the one that did not answer the write
    // learns of it from NOTIFY, within the snapshot's coalescing gap.
    for (const port of productPorts) await eventually(async () => expect(await dealIds(`http://127.0.0.1:${port}`)).toContain(deal.id));

    await db.stop();
    const list = await call(gateway.url, "GET", "/products/deals?size=100");
    expect(list.status).toBe(200);
    expect(list.body.items.map((d: { id: string }) => d.id)).toContain(deal.id);
    expect(Number(list.headers.get("x-snapshot-age"))).toBeGreaterThanOrEqual(0);
    expect((await call(gateway.url, "GET", "/products?page=1&size=5")).status).toBe(200);
    const byId = await call(gateway.url, "GET", `/products/${product.id}`);
    expect(byId.status).toBe(200);
    expect(byId.headers.get("x-snapshot-age")).not.toBeNull();

    const started = Date.now();
    expectError(await createProduct("during the outage"), 503, "UNAVAILABLE");
    expectError(await call(gateway.url, "GET", "/products/00000000-0000-4000-8000-000000000000"), 503, "UNAVAILABLE");
    expectError(await call(gateway.url, "GET", "/auth/users/me", { token }), 503, "UNAVAILABLE");
    expect(Date.now() - started).toBeLessThan(2000 * 3);

    await db.start();
    // Writes work again within seconds, with no restart.
    await eventually(async () => expect((await createProduct("after the outage")).status).toBe(201), 10_000, 200);
    // And the NOTIFY subscription is back: a new deal shows up on both instances (the timer is 60 s).
    const later = (await createLiveDeal((await createProduct("after, with a deal")).body.id)).body;
    for (const port of productPorts) await eventually(async () => expect(await dealIds(`http://127.0.0.1:${port}`)).toContain(later.id), 5000);
    // Nothing half-written: the product refused during the outage does not exist.
    const [count] = await sql`select count(*)::int as n from product.products where name = 'during the outage'`;
    expect(count!.n).toBe(0);
  }, 60_000);
});

describe("upstream instances fail and return", () => {
  test("auth killed: 502 at once, products keep working, the first request after its return succeeds", async () => {
    auth.process.kill("SIGKILL");
    await auth.process.exited;
    const started = Date.now();
    expectError(await call(gateway.url, "GET", "/auth/users/me", { token }), 502, "BAD_GATEWAY");
    expect(Date.now() - started).toBeLessThan(500);
    expect((await call(gateway.url, "GET", "/products/deals")).status).toBe(200);
    auth = await startService("auth", { DATABASE_URL: db.url, JWT_SECRET: SECRET, AUTH_PORT: String(auth.port) });
    expect((await call(gateway.url, "GET", "/auth/users/me", { token })).status).toBe(200);
  });

  test("one product instance killed: requests go to the other, none fails", async () => {
    products[0]!.process.kill("SIGKILL");
    await products[0]!.process.exited;
    const results = await Promise.all(Array.from({ length: 50 }, () => call(gateway.url, "GET", "/products/deals")));
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
    products[0] = await startService("product", productEnv(productPorts[0]!));
  });

  test("rolling restart of product under load (SIGTERM, one instance at a time): zero failed requests", async () => {
    let stop = false;
    const statuses: (number | string)[] = [];
    const load = Array.from({ length: 8 }, async () => {
      while (!stop) statuses.push(await call(gateway.url, "GET", "/products/deals").then((r) => r.status, (e) => String(e)));
    });
    for (let i = 0; i < products.length; i++) {
      await Bun.sleep(200);
      await products[i]!.stop();
      await Bun.sleep(200);
      products[i] = await startService("product", productEnv(productPorts[i]!));
    }
    await Bun.sleep(200);
    stop = true;
    await Promise.all(load);
    expect(statuses.length).toBeGreaterThan(100);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  }, 60_000);

  test("a write answered 201 is in the database even if the service is killed right after", async () => {
    const created = await createProduct("durable");
    expect(created.status).toBe(201);
    for (const p of products) p.process.kill("SIGKILL");
    const [row] = await sql`select name from product.products where id = ${created.body.id}`;
    expect(row!.name).toBe("durable");
    products = await Promise.all(productPorts.map((port) => startService("product", productEnv(port))));
  });
});

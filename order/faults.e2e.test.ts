/**
 * Orders through crashes: the order service and product killed with SIGKILL during a burst,
 * PostgreSQL stopped during a burst and started again, the service's database connections
 * terminated under it. Afterwards every 201 is a confirmed order in the database, the units
 * taken equal the units ordered, no order lacks its items, and retries with the same
 * Idempotency-Key never make a second order. These tests own their processes and database,
 * so they can break them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import postgres from "postgres";
import { startEmbeddedDatabase, type EmbeddedDatabase } from "../dev/embedded-db.ts";
import { freePort } from "../dev/stack/free-port.ts";
import { call, eventually } from "../dev/testing/http.ts";
import { startService, type ServiceProcess } from "../dev/testing/service-process.ts";
import { accessToken } from "../dev/testing/tokens.ts";
import { useEndToEndTimeouts } from "../dev/testing/timeouts.ts";

useEndToEndTimeouts();

const SECRET = "order-fault-suite-secret-0123456789abcdef";
let db: EmbeddedDatabase;
let sql: postgres.Sql;
let product: ServiceProcess;
let order: ServiceProcess;
const orderPort = freePort();
const productPort = freePort();
const orderEnv = () => ({ DATABASE_URL: db.url, JWT_SECRET: SECRET, ORDER_PORT: String(orderPort), SHUTDOWN_GRACE_MS: "2000" });
const productEnv = () => ({ DATABASE_URL: db.url, PRODUCT_PORT: String(productPort) });

beforeAll(async () => {
  db = await startEmbeddedDatabase({ dir: resolve(import.meta.dir, "../.data", `order-faults-${process.pid}`), port: freePort(), ephemeral: true });
  sql = postgres(db.url, { max: 2, onnotice: () => {} });
  // Product's migrations make the schema and the stock functions orders go through.
  product = await startService("product", productEnv());
  order = await startService("order", orderEnv());
}, 30_000);

afterAll(async () => {
  await Promise.all([order?.stop(), product?.stop()]);
  await sql?.end();
  await db?.close();
}, 30_000);

async function liveDeal(dealStock: number, productStock: number) {
  const [p] = await sql`insert into product.products (name, price, stock) values ('fault product', 1000, ${productStock}) returning id`;
  const [d] = await sql`insert into product.deals (product_id, deal_price, deal_stock, remaining_stock, starts_at, ends_at)
                        values (${p!.id}, 100, ${dealStock}, ${dealStock}, now() - interval '1 minute', now() + interval '1 hour') returning id`;
  return { productId: p!.id as string, dealId: d!.id as string };
}

interface Attempt {
  user: string;
  key: string;
  result: { status: number; id?: string } | "no answer";
}

/** Buyers in a loop, each order from a new user with its own key, until `stop()`. */
function burst(productId: string, dealId: string, connections = 6) {
  const attempts: Attempt[] = [];
  let stopping = false;
  const send = async (user: string, key: string): Promise<Attempt["result"]> => {
    try {
      const r = await call(`http://127.0.0.1:${orderPort}`, "POST", "/orders", {
        token: accessToken(SECRET, user),
        headers: { "idempotency-key": key },
        body: { items: [{ product_id: productId, deal_id: dealId, quantity: 1 }, { product_id: productId, quantity: 1 }] },
      });
      return { status: r.status, id: r.body?.id };
    } catch {
      return "no answer";
    }
  };
  /** One order from a new user with its own key, recorded among the attempts. */
  const order = async () => {
    const user = crypto.randomUUID();
    const key = crypto.randomUUID();
    const result = await send(user, key);
    attempts.push({ user, key, result });
    return result;
  };
  const loops = Array.from({ length: connections }, async () => {
    while (!stopping) if ((await order()) === "no answer") await Bun.sleep(20);
  });
  return {
    attempts,
    send,
    order,
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
    },
  };
}

async function expectConsistent(productId: string, dealId: string, productStock: number, attempts: Attempt[]) {
  const confirmed = attempts.flatMap((a) => (a.result !== "no answer" && a.result.status === 201 ? [a.result.id!] : []));
  expect(confirmed.length).toBeGreaterThan(0);
  const [found] = await sql`select count(*)::int as n from orders.orders where id = any(${confirmed}::uuid[]) and status = 'confirmed'`;
  expect(found!.n).toBe(confirmed.length);
  const [deal] = await sql`select deal_stock - remaining_stock as taken from product.deals where id = ${dealId}`;
  const [prod] = await sql`select ${productStock}::int - stock as taken from product.products where id = ${productId}`;
  const [inDeal] = await sql`select coalesce(sum(i.quantity), 0)::int as n from orders.order_items i join orders.orders o on o.id = i.order_id where i.deal_id = ${dealId} and o.status <> 'cancelled'`;
  const [inProduct] = await sql`select coalesce(sum(i.quantity), 0)::int as n from orders.order_items i join orders.orders o on o.id = i.order_id where i.product_id = ${productId} and o.status <> 'cancelled'`;
  expect({ deal: deal!.taken, product: prod!.taken }).toEqual({ deal: inDeal!.n, product: inProduct!.n });
  const [orphans] = await sql`select count(*)::int as n from orders.orders o where (select count(*) from orders.order_items i where i.order_id = o.id) <> 2`;
  expect(orphans!.n).toBe(0);
  const [twice] = await sql`select count(*)::int as n from (select user_id from orders.orders group by user_id having count(*) > 1) t`;
  expect(twice!.n).toBe(0);
  return confirmed.length;
}

/** Every request that got no answer or a 503 is sent again with its key: at most one order each. */
async function retryUnanswered(b: ReturnType<typeof burst>) {
  const unanswered = b.attempts.filter((a) => a.result === "no answer" || a.result.status === 503);
  for (const a of unanswered) {
    const again = await b.send(a.user, a.key);
    expect(again).not.toBe("no answer");
    expect([201, 400]).toContain((again as { status: number }).status);
    a.result = again;
  }
  return unanswered.length;
}

describe("crashes during a burst of orders", () => {
  test("kill -9 of the order service and of product, restart: every 201 is in the database, units add up, retries make no second order", async () => {
    const { productId, dealId } = await liveDeal(5000, 10_000);
    const b = burst(productId, dealId);
    await Bun.sleep(400);
    order.process.kill("SIGKILL");
    product.process.kill("SIGKILL");
    await order.process.exited;
    await Bun.sleep(200);
    order = await startService("order", orderEnv());
    product = await startService("product", productEnv());
    await Bun.sleep(300);
    await b.stop();
    expect(b.attempts.some((a) => a.result === "no answer")).toBe(true);
    await retryUnanswered(b);
    await expectConsistent(productId, dealId, 10_000, b.attempts);
  }, 60_000);

  test("the order service's connections terminated during a burst: the pool recovers, every order after it is placed", async () => {
    const { productId, dealId } = await liveDeal(5000, 10_000);
    const b = burst(productId, dealId, 12);
    await Bun.sleep(300);
    for (let round = 0; round < 3; round++) {
      await sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name like 'order-%'`;
      await Bun.sleep(150);
    }
    await b.stop();
    for (let i = 0; i < 30; i++) expect({ after: i, result: await b.order() }).toMatchObject({ after: i, result: { status: 201 } });
    await retryUnanswered(b);
    await expectConsistent(productId, dealId, 10_000, b.attempts);
  }, 60_000);

  test("PostgreSQL stopped during a burst: 503 within 2 s, nothing half-written; orders work again after it starts, no restart", async () => {
    const { productId, dealId } = await liveDeal(5000, 10_000);
    const b = burst(productId, dealId);
    await Bun.sleep(300);
    await db.stop();
    const down = Date.now();
    // While it is down: a fast, clean 503.
    const started = performance.now();
    expect({ during: await b.order() }).toMatchObject({ during: { status: 503 } });
    expect(performance.now() - started).toBeLessThan(2000);
    const readDuring = await call(`http://127.0.0.1:${orderPort}`, "GET", "/orders", { token: accessToken(SECRET) });
    expect({ status: readDuring.status, error: readDuring.body.error }).toEqual({ status: 503, error: "UNAVAILABLE" });
    await Bun.sleep(Math.max(0, 500 - (Date.now() - down)));
    await db.start();
    const back = await eventually(async () => expect(await b.order()).toMatchObject({ status: 201 }), 10_000, 100);
    expect(back).toBeLessThan(10_000);
    await Bun.sleep(200);
    await b.stop();
    expect(b.attempts.filter((a) => a.result !== "no answer" && a.result.status === 503).length).toBeGreaterThan(0);
    for (const a of b.attempts) if (a.result !== "no answer") expect([201, 503]).toContain(a.result.status);
    await retryUnanswered(b);
    await expectConsistent(productId, dealId, 10_000, b.attempts);
  }, 60_000);
});

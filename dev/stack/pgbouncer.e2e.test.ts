/**
 * The services behind a real PgBouncer in transaction pooling mode, with fewer server
 * connections than the service's pool, so consecutive transactions of one client land on
 * different server connections: reads by id (prepared statements when not pooled) and writes
 * work, the snapshot still hears NOTIFY over DATABASE_SESSION_URL, and PgBouncer's own console
 * shows the service as its client. The whole end-to-end suite also runs this way in CI
 * (TEST_PGBOUNCER=1).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { call, eventually, registerAndLogin } from "../testing/http.ts";
import { startService, type ServiceProcess } from "../testing/service-process.ts";
import { testStack } from "../testing/test-stack.ts";
import { startPgBouncer, type PgBouncer } from "./pgbouncer.ts";
import { useEndToEndTimeouts } from "../testing/timeouts.ts";

useEndToEndTimeouts();

let pooler: PgBouncer;
let product: ServiceProcess;
let auth: ServiceProcess;
let token = "";
let gw = "";

beforeAll(async () => {
  const stack = await testStack();
  gw = stack.gatewayUrl;
  token = (await registerAndLogin(gw, "pgbouncer")).access;
  pooler = await startPgBouncer({ serverUrl: stack.databaseUrl, poolSize: 2 });
  const env = { DATABASE_URL: pooler.url, DATABASE_SESSION_URL: stack.databaseUrl, DATABASE_POOL_MODE: "transaction", DB_POOL_SIZE: "8" };
  // A timer this long cannot be what brings a change into the snapshot: only NOTIFY can.
  [product, auth] = await Promise.all([startService("product", { ...env, SNAPSHOT_REFRESH_MS: "60000" }), startService("auth", env)]);
  // The shared stack and two more services start on a machine busy with other suites.
}, 60_000);

afterAll(async () => {
  await Promise.all([product?.stop(), auth?.stop()]);
  await pooler?.stop();
});

describe("behind PgBouncer in transaction mode", () => {
  test("reads by id and stock changes, 200 at once over 2 server connections", async () => {
    const created = await call(product.url, "POST", "/products", { headers: { "x-user-id": crypto.randomUUID() }, body: { name: "pooled", price: 100, stock: 1000 } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const reads = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 4 === 0 ? call(product.url, "PATCH", `/products/${id}/stock`, { headers: { "x-user-id": crypto.randomUUID() }, body: { delta: -1 } }) : call(product.url, "GET", `/products/${id}`))));
    expect(reads.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
    expect((await call(product.url, "GET", `/products/${id}/stock`)).body.stock).toBe(950);
  }, 30_000);

  test("auth registers and logs in through the pooler", async () => {
    const email = `pooled-${crypto.randomUUID()}@example.com`;
    expect((await call(auth.url, "POST", "/auth/register", { body: { email, password: "correct horse battery", name: "Pooled" } })).status).toBe(201);
    const logins = await Promise.all(Array.from({ length: 3 }, () => call(auth.url, "POST", "/auth/login", { body: { email, password: "correct horse battery" } })));
    expect(logins.map((r) => r.status)).toEqual(Array(3).fill(200));
    // Each login is an argon2id hash: seconds on a machine busy with other suites.
  }, 30_000);

  test("a deal created elsewhere reaches this instance's snapshot by NOTIFY, over the session URL", async () => {
    const p = await call(gw, "POST", "/products", { token, body: { name: "pooled deal product", price: 1000, stock: 10 } });
    const deal = await call(gw, "POST", "/products/deals", { token, body: { product_id: p.body.id, deal_price: 700, deal_stock: 5, starts_at: new Date(Date.now() - 1000).toISOString(), ends_at: new Date(Date.now() + 3_600_000).toISOString() } });
    expect(deal.status).toBe(201);
    await eventually(async () => {
      const live = await call(product.url, "GET", "/products/deals?size=100");
      expect(live.body.items.map((d: { id: string }) => d.id)).toContain(deal.body.id);
    }, 1000);
  }, 30_000);

  test("PgBouncer's console lists both services as its clients", async () => {
    const admin = postgres({ host: "127.0.0.1", port: pooler.port, database: "pgbouncer", username: new URL(pooler.url).username, password: new URL(pooler.url).password, max: 1, fetch_types: false, onnotice: () => {} });
    try {
      // The console speaks only the simple query protocol.
      const clients = await admin.unsafe("show clients").simple();
      const names = new Set(clients.map((c) => String(c.application_name).replace(/-\d+$/, "")));
      expect(names).toContain("product");
      expect(names).toContain("auth");
    } finally {
      await admin.end();
    }
  });
});

/**
 * `bun deploy/scale/connections.ts`: PostgreSQL connections as service replicas multiply.
 * Each simulated replica is one postgres.js pool of DB_POOL_SIZE (10) connections kept busy
 * with reads by id (the product service's database path): straight to PostgreSQL with prepared
 * statements (as now), straight without them (what a transaction pooler forces, to tell its
 * cost from the hop's), and through PgBouncer in transaction mode with 20 server connections.
 * Every pool is connected before the clock starts. Reports queries/s and the server
 * connections PostgreSQL holds. Run it under the bench lock:
 * `flock /work/.bench.lock bun deploy/scale/connections.ts`.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectDatabase, migrate, type Sql } from "../../lib/db.ts";
import { startEmbeddedDatabase } from "../../dev/embedded-db.ts";
import { freePort } from "../../dev/stack/free-port.ts";
import { startPgBouncer } from "../../dev/stack/pgbouncer.ts";
import { migrations } from "../../product/migrations/index.ts";

const REPLICAS = [2, 8, 24];
const POOL = 10;
const SERVER_CONNECTIONS = 20;
const SECONDS = Number(process.env.CONNECTIONS_SECONDS ?? 4);

const dir = mkdtempSync(join(tmpdir(), "connections-"));
// As root, the database runs as the postgres user, who must reach its data directory.
chmodSync(dir, 0o755);
const db = await startEmbeddedDatabase({ dir: join(dir, "data"), port: freePort(), ephemeral: true });
const admin = connectDatabase({ url: db.url, poolSize: 1, applicationName: "connections-admin" });
const pooler = await startPgBouncer({ serverUrl: db.url, poolSize: SERVER_CONNECTIONS });
try {
  await migrate(admin, "product", migrations);
  const ids = (await admin`insert into product.products (name, price, stock) select 'p' || g, 100, 10 from generate_series(1, 1000) g returning id`).map((r) => r.id as string);
  console.log("| replicas × pool | path | server connections | queries/s | p99 of a query |\n| --- | --- | --- | --- | --- |");
  for (const replicas of REPLICAS) {
    for (const via of ["direct", "direct, unprepared", "pgbouncer"] as const) {
      const pools: Sql[] = Array.from({ length: replicas }, (_, i) =>
        connectDatabase({ url: via === "pgbouncer" ? pooler.url : db.url, poolSize: POOL, applicationName: `replica-${i}`, transactionPooler: via !== "direct" }),
      );
      await Promise.all(pools.flatMap((sql) => Array.from({ length: POOL }, () => sql`select 1`)));
      const until = performance.now() + SECONDS * 1000;
      const latencies: number[] = [];
      let peak = 0;
      const watch = setInterval(async () => {
        const [row] = await admin`select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and application_name like 'replica-%'`;
        peak = Math.max(peak, row!.n);
      }, 250);
      const worker = async (sql: Sql) => {
        while (performance.now() < until) {
          const t0 = performance.now();
          await sql`select * from product.products where id = ${ids[Math.floor(Math.random() * ids.length)]!}`;
          latencies.push(performance.now() - t0);
        }
      };
      const start = performance.now();
      await Promise.all(pools.flatMap((sql) => Array.from({ length: POOL }, () => worker(sql))));
      const elapsed = (performance.now() - start) / 1000;
      clearInterval(watch);
      await Promise.all(pools.map((sql) => sql.end({ timeout: 5 })));
      latencies.sort((a, b) => a - b);
      const p99 = latencies[Math.floor(latencies.length * 0.99)]!;
      console.log(`| ${replicas} × ${POOL} | ${via} | ${peak} | ${Math.round(latencies.length / elapsed).toLocaleString("en")} | ${p99.toFixed(1)} ms |`);
    }
  }
} finally {
  await admin.end();
  await pooler.stop();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}

/**
 * `bun deploy/scale/snapshot-cost.ts`: what one reload of product's in-memory snapshot costs
 * as the number of live deals grows, on an embedded PostgreSQL with the product schema. Every
 * committed change to products or deals (an order taking stock included) NOTIFYs every
 * product replica, and each reloads the whole snapshot (single-flight: back to back while
 * changes keep coming). So during a sale each replica runs about 1000 / (reload ms) full
 * snapshot queries a second, and the primary serves that times the number of replicas.
 * Run it under the bench lock: `flock /work/.bench.lock bun deploy/scale/snapshot-cost.ts`.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectDatabase, migrate } from "../../lib/db.ts";
import { startEmbeddedDatabase } from "../../dev/embedded-db.ts";
import { freePort } from "../../dev/stack/free-port.ts";
import { Catalog } from "../../product/catalog.ts";
import { migrations } from "../../product/migrations/index.ts";
import { CatalogSnapshot } from "../../product/snapshot.ts";

const DEALS = [20, 100, 1000, 5000, 10000];
const PRODUCT_WINDOW = 1000;
const REPEAT = 9;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = mkdtempSync(join(tmpdir(), "snapshot-cost-"));
// As root, the database runs as the postgres user, who must reach its data directory.
chmodSync(dir, 0o755);
const db = await startEmbeddedDatabase({ dir: join(dir, "data"), port: freePort(), ephemeral: true });
const sql = connectDatabase({ url: db.url, poolSize: 2, applicationName: "snapshot-cost" });
try {
  await migrate(sql, "product", migrations);
  const catalog = new Catalog(sql);
  console.log("| live deals | reload (query + install) | first page after it (view + render) | full reloads/s one replica can run | rows read/s per replica at that rate |\n| --- | --- | --- | --- | --- |");
  let have = 0;
  for (const target of DEALS) {
    const add = target - have;
    // One product per deal, like the bench's seed, with ordinary text lengths.
    await sql`with p as (
        insert into product.products (name, description, price, stock, category)
        select 'product ' || g, 'A product of ordinary description length for a shop, item ' || g, 1000 + g, 1000, case when g % 2 = 0 then 'home' else 'electronics' end
        from generate_series(${have + 1}::int, ${target}::int) g returning id, price)
      insert into product.deals (product_id, deal_price, deal_stock, remaining_stock, starts_at, ends_at)
      select id, price * 7 / 10, 500, 500, now() - interval '1 minute', now() + interval '1 day' from p`;
    have += add;
    await sql`analyze product.products`;
    await sql`analyze product.deals`;
    const snapshot = new CatalogSnapshot(catalog, PRODUCT_WINDOW);
    const reloads: number[] = [];
    const renders: number[] = [];
    for (let i = 0; i < REPEAT; i++) {
      const t0 = performance.now();
      await snapshot.refresh();
      const t1 = performance.now();
      snapshot.dealsPage(1, 20);
      renders.push(performance.now() - t1);
      reloads.push(t1 - t0);
    }
    const ms = median(reloads);
    const rows = have + Math.min(have, PRODUCT_WINDOW);
    console.log(`| ${have.toLocaleString("en")} | ${ms.toFixed(1)} ms | ${median(renders).toFixed(2)} ms | ${Math.floor(1000 / ms).toLocaleString("en")} | ${Math.round((rows * 1000) / ms).toLocaleString("en")} |`);
  }
} finally {
  await sql.end();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}

/**
 * `bun deploy/scale/hot-row.ts`: what one hot deal's stock row costs on one primary. pgbench
 * runs the shape of an order (take one unit from the deal's stock, insert the order, commit)
 * from 64 clients against an embedded PostgreSQL, with the deal's stock in 1 row and split
 * into N rows (a client takes from a random one), and with 16 orders per transaction as the
 * order service's batching makes them. Every transaction on one row waits for the
 * row lock of the one before it to be committed, so one row is one commit at a time.
 * Run it under the bench lock: `flock /work/.bench.lock bun deploy/scale/hot-row.ts`.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { startEmbeddedDatabase } from "../../dev/embedded-db.ts";
import { freePort } from "../../dev/stack/free-port.ts";

// [rows the stock is split into, orders per transaction (the order service's batching)]
const CASES: [number, number][] = [[1, 1], [4, 1], [16, 1], [64, 1], [1, 16], [16, 16]];
const CLIENTS = 64;
const SECONDS = Number(process.env.HOT_ROW_SECONDS ?? 8);

const dir = mkdtempSync(join(tmpdir(), "hot-row-"));
// As root, the database runs as the postgres user, who must reach its data directory.
chmodSync(dir, 0o755);
const db = await startEmbeddedDatabase({ dir: join(dir, "data"), port: freePort(), ephemeral: true });
const sql = postgres(db.url, { max: 1, onnotice: () => {} });
try {
  await sql`create table slot (deal int, slot int, remaining int not null check (remaining >= 0), primary key (deal, slot))`;
  await sql`create table orders (id bigserial primary key, deal int not null, slot int not null, created_at timestamptz not null default now())`;
  console.log(`| rows for the deal's stock | orders per transaction | orders/s | mean transaction latency | vs one row, one order |\n| --- | --- | --- | --- | --- |`);
  let one = 0;
  for (const [n, batch] of CASES) {
    await sql`truncate slot, orders`;
    await sql`insert into slot select 1, s, ${Math.floor(1e9 / n)} from generate_series(0, ${n - 1}) s`;
    await sql`checkpoint`;
    const script = join(dir, `order-${n}-${batch}.sql`);
    writeFileSync(script, `\\set s random(0, ${n - 1})
begin;
update slot set remaining = remaining - ${batch} where deal = 1 and slot = :s and remaining >= ${batch};
insert into orders (deal, slot) select 1, :s from generate_series(1, ${batch});
commit;
`);
    const run = Bun.spawnSync(["pgbench", "-n", "-M", "prepared", "-c", String(CLIENTS), "-j", "2", "-T", String(SECONDS), "-f", script, db.url], { stdout: "pipe", stderr: "pipe" });
    const out = run.stdout.toString();
    const tps = Number(/tps = ([\d.]+) \(without initial/.exec(out)?.[1]) * batch;
    const latency = Number(/latency average = ([\d.]+) ms/.exec(out)?.[1]);
    if (!tps) throw new Error(`pgbench failed:\n${out}\n${run.stderr.toString()}`);
    if (n === 1 && batch === 1) one = tps;
    console.log(`| ${n} | ${batch} | ${Math.round(tps).toLocaleString("en")} | ${latency.toFixed(1)} ms | ${(tps / one).toFixed(2)}× |`);
  }
} finally {
  await sql.end();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}

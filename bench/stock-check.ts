/**
 * After an order scenario, the database must add up: for each deal and product of the run,
 * the units taken (deal_stock - remaining_stock; the product's stock at the start minus now)
 * equal the units in its orders that are not cancelled. Anything else is an oversold, leaked
 * or twice-returned unit, and the bench fails loudly.
 */
import type { TransactionSql } from "postgres";
import { connectDatabase } from "../lib/db.ts";
import type { SeededDeal } from "./order-seed.ts";

export interface StockLine {
  kind: "deal" | "product";
  id: string;
  taken: number;
  ordered: number;
}

export interface StockCheck {
  ok: boolean;
  lines: StockLine[];
  /** Orders that are not cancelled holding any of these deals (201s seen plus any whose answer was lost). */
  orders: number;
  /** Units of the deals in those orders. */
  units: number;
}

export async function checkStock(databaseUrl: string, deals: SeededDeal[]): Promise<StockCheck> {
  const sql = connectDatabase({ url: databaseUrl, poolSize: 1, applicationName: "bench-stock-check" });
  try {
    // One snapshot for all three reads: an order committing in between cannot skew them.
    return await sql.begin("isolation level repeatable read read only", (tx) => check(tx, deals));
  } finally {
    await sql.end();
  }
}

async function check(sql: TransactionSql, deals: SeededDeal[]): Promise<StockCheck> {
  const dealIds = deals.map((d) => d.id);
  const productIds = deals.map((d) => d.product_id);
  const dealRows = await sql<{ id: string; taken: string; ordered: string }[]>`
    select d.id, d.deal_stock - d.remaining_stock as taken,
           coalesce((select sum(i.quantity) from orders.order_items i join orders.orders o on o.id = i.order_id
                     where i.deal_id = d.id and o.status <> 'cancelled'), 0) as ordered
    from product.deals d where d.id = any(${dealIds}::uuid[])`;
  const productRows = await sql<{ id: string; stock: number; ordered: string }[]>`
    select p.id, p.stock,
           coalesce((select sum(i.quantity) from orders.order_items i join orders.orders o on o.id = i.order_id
                     where i.product_id = p.id and o.status <> 'cancelled'), 0) as ordered
    from product.products p where p.id = any(${productIds}::uuid[])`;
  const [totals] = await sql<{ orders: string; units: string }[]>`
    select count(distinct o.id) as orders, coalesce(sum(i.quantity), 0) as units
    from orders.order_items i join orders.orders o on o.id = i.order_id
    where i.deal_id = any(${dealIds}::uuid[]) and o.status <> 'cancelled'`;
  const startStock = new Map(deals.map((d) => [d.product_id, d.product_stock]));
  const lines: StockLine[] = [
    ...deals.map((d): StockLine => {
      const row = dealRows.find((r) => r.id === d.id);
      // A deal that is gone adds up to nothing: NaN never equals anything.
      return { kind: "deal", id: d.id, taken: row ? Number(row.taken) : NaN, ordered: row ? Number(row.ordered) : NaN };
    }),
    ...deals.map((d): StockLine => {
      const row = productRows.find((r) => r.id === d.product_id);
      return { kind: "product", id: d.product_id, taken: row ? startStock.get(d.product_id)! - row.stock : NaN, ordered: row ? Number(row.ordered) : NaN };
    }),
  ];
  return { ok: lines.every((l) => l.taken === l.ordered && l.taken >= 0), lines, orders: Number(totals!.orders), units: Number(totals!.units) };
}

export const describeMismatch = (c: StockCheck): string =>
  c.lines
    .filter((l) => l.taken !== l.ordered)
    .map((l) => `${l.kind} ${l.id}: ${l.taken} units taken, ${l.ordered} in orders that are not cancelled`)
    .join("; ");

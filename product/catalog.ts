/** Data access for products and deals (schema `product`). */
import type { Sql } from "../lib/db.ts";
import { INT32_MAX } from "./model.ts";
import type { DealRow, ProductRow } from "./rows.ts";

export interface NewProduct {
  name: string;
  description?: string | null;
  price: number;
  stock: number;
  category?: string | null;
  image_url?: string | null;
}

export type ProductChanges = Partial<Omit<NewProduct, "stock">>;

export interface NewDeal {
  product_id: string;
  deal_price: number;
  deal_stock: number;
  starts_at: Date;
  ends_at: Date;
  max_per_user?: number | null;
}

export type StockChange =
  | { ok: true; product_id: string; stock: number; updated_at: Date }
  | { ok: false; reason: "not_found" | "insufficient" | "too_large" };

/** A bound on the deals held in memory, so a runaway insert cannot exhaust it. */
const SNAPSHOT_MAX_DEALS = 10_000;

const DEAL_COLUMNS = `d.id, d.product_id, d.deal_price, d.deal_stock, d.remaining_stock, d.starts_at, d.ends_at, d.max_per_user, d.created_at,
  p.id as p_id, p.name as p_name, p.description as p_description, p.price as p_price, p.stock as p_stock,
  p.category as p_category, p.image_url as p_image_url, p.created_at as p_created_at, p.updated_at as p_updated_at`;

function toDeal(r: Record<string, unknown>): DealRow {
  return {
    id: r.id as string,
    product_id: r.product_id as string,
    deal_price: r.deal_price as number,
    deal_stock: r.deal_stock as number,
    remaining_stock: r.remaining_stock as number,
    starts_at: r.starts_at as Date,
    ends_at: r.ends_at as Date,
    max_per_user: r.max_per_user as number | null,
    created_at: r.created_at as Date,
    product: {
      id: r.p_id as string,
      name: r.p_name as string,
      description: r.p_description as string | null,
      price: r.p_price as number,
      stock: r.p_stock as number,
      category: r.p_category as string | null,
      image_url: r.p_image_url as string | null,
      created_at: r.p_created_at as Date,
      updated_at: r.p_updated_at as Date,
    },
  };
}

export class Catalog {
  constructor(readonly sql: Sql) {}

  async createProduct(p: NewProduct): Promise<ProductRow> {
    const [row] = await this.sql<ProductRow[]>`
      insert into product.products (name, description, price, stock, category, image_url)
      values (${p.name}, ${p.description ?? null}, ${p.price}, ${p.stock}, ${p.category ?? null}, ${p.image_url ?? null})
      returning *`;
    return row!;
  }

  async product(id: string): Promise<ProductRow | null> {
    const [row] = await this.sql<ProductRow[]>`select * from product.products where id = ${id}`;
    return row ?? null;
  }

  async updateProduct(id: string, changes: ProductChanges): Promise<ProductRow | null> {
    const keys = Object.keys(changes) as (keyof ProductChanges)[];
    if (keys.length === 0) return this.product(id);
    const [row] = await this.sql<ProductRow[]>`
      update product.products set ${this.sql(changes, ...keys)}, updated_at = clock_timestamp()
      where id = ${id} returning *`;
    return row ?? null;
  }

  /** One statement: the check and the change cannot be separated by another writer. */
  async changeStock(id: string, delta: number): Promise<StockChange> {
    const [row] = await this.sql<{ product_id: string; stock: number; updated_at: Date }[]>`
      update product.products set stock = stock + ${delta}, updated_at = clock_timestamp()
      where id = ${id} and stock::bigint + ${delta}::bigint between 0 and ${INT32_MAX}
      returning id as product_id, stock, updated_at`;
    if (row) return { ok: true, ...row };
    const current = await this.product(id);
    if (!current) return { ok: false, reason: "not_found" };
    return { ok: false, reason: current.stock + delta < 0 ? "insufficient" : "too_large" };
  }

  async productsPage(page: number, size: number, category: string | undefined): Promise<{ items: ProductRow[]; total: number }> {
    const where = category === undefined ? this.sql`` : this.sql`where category = ${category}`;
    const [items, [count]] = await Promise.all([
      this.sql<ProductRow[]>`select * from product.products ${where} order by created_at desc, id desc limit ${size} offset ${(page - 1) * size}`,
      this.sql<{ total: number }[]>`select count(*)::int as total from product.products ${where}`,
    ]);
    return { items, total: count!.total };
  }

  /** The new deal, or null when the product does not exist. */
  async createDeal(d: NewDeal): Promise<DealRow | null> {
    const rows = await this.sql.unsafe(
      `with d as (
         insert into product.deals (product_id, deal_price, deal_stock, remaining_stock, starts_at, ends_at, max_per_user)
         select id, $2, $3, $3, $4, $5, $6 from product.products where id = $1
         returning *)
       select ${DEAL_COLUMNS} from d join product.products p on p.id = d.product_id`,
      [d.product_id, d.deal_price, d.deal_stock, d.starts_at, d.ends_at, d.max_per_user ?? null],
      { prepare: true },
    );
    return rows[0] ? toDeal(rows[0]) : null;
  }

  async deal(id: string): Promise<DealRow | null> {
    // Prepared, like the tagged queries: unprepared, it is planned on every call, which cut
    // the reads of a deal by id to about a third (the README has the figures).
    const rows = await this.sql.unsafe(`select ${DEAL_COLUMNS} from product.deals d join product.products p on p.id = d.product_id where d.id = $1`, [id], { prepare: true });
    return rows[0] ? toDeal(rows[0]) : null;
  }

  /**
   * Everything the in-memory snapshot holds, read in one consistent transaction: the deals
   * that have not ended (live, still to come, or sold out: those with stock first, should
   * the bound cut), the newest products and the product counts. The two halves of the deals
   * are read each through its own partial index.
   */
  async snapshotData(productWindow: number): Promise<{ deals: DealRow[]; products: ProductRow[]; totals: Map<string | null, number> }> {
    return this.sql.begin("isolation level repeatable read read only", async (tx) => {
      const unfinished = (stock: string) =>
        `select ${DEAL_COLUMNS} from product.deals d join product.products p on p.id = d.product_id where ${stock} and d.ends_at > now()`;
      const deals = await tx.unsafe(
        `select * from (${unfinished("d.remaining_stock > 0")} union all ${unfinished("d.remaining_stock = 0")}) d
         order by d.remaining_stock > 0 desc, d.starts_at desc, d.id desc limit ${SNAPSHOT_MAX_DEALS}`,
      );
      const products = await tx<ProductRow[]>`select * from product.products order by created_at desc, id desc limit ${productWindow}`;
      const counts = await tx<{ category: string | null; n: number }[]>`select category, count(*)::int as n from product.products group by category`;
      return { deals: deals.map(toDeal), products: [...products], totals: new Map(counts.map((c) => [c.category, c.n])) };
    });
  }
}

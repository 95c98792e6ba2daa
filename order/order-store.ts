/**
 * Data access for orders (schema `orders`), taking and giving back stock through the
 * functions product's schema owns, inside the same transaction as the order rows.
 */
import { ApiError } from "../lib/errors.ts";
import type { ReservedSql, TransactionSql } from "postgres";
import type { Sql } from "../lib/db.ts";
import { pipelinedTransaction } from "../lib/pipelined-transaction.ts";
import { CANCELLABLE, orderJson, type Answer, type Order, type OrderItem, type OrderStatus, type PlacementRequest, type ShippingAddress } from "./model.ts";
import { keyReused } from "./idempotency.ts";
import { decideBatch, holdingKey, type LockedDeal, type LockedProduct, type LockedRows, type SoldOutDeal } from "./placement.ts";

export interface BatchOutcome {
  /** One answer per request, in the order given. */
  answers: Answer[];
  /** Deals with nothing left after this commit. */
  soldOut: SoldOutDeal[];
  /** Orders written (for the batch-size metric). */
  written: number;
}

export type CancelOutcome = { ok: true; order: Order } | { ok: false; error: ApiError };

const sorted = (ids: Iterable<string>) => [...new Set(ids)].sort();

/** How long an Idempotency-Key holds its answer (the contract's window): older keys may be claimed again, and are swept. */
const KEY_LIFETIME = "24 hours";
/** Rows one sweep statement deletes, so none holds many row locks or runs long. */
const SWEEP_CHUNK = 5_000;

interface OrderRow extends Omit<Order, "items" | "total_amount"> {
  /** int8: postgres.js gives it as a string. */
  total_amount: string;
}

interface ItemRow extends Omit<OrderItem, "subtotal"> {
  order_id: string;
  /** int8: postgres.js gives it as a string. */
  subtotal: string;
}

const ORDER_COLUMNS = ["id", "user_id", "status", "total_amount", "shipping_address", "cancelled_at", "cancel_reason", "created_at", "updated_at"];
const ITEM_COLUMNS = ["order_id", "id", "product_id", "deal_id", "product_name", "quantity", "unit_price", "subtotal"];

function assemble(rows: readonly OrderRow[], items: readonly ItemRow[]): Order[] {
  const byOrder = new Map<string, OrderItem[]>();
  for (const { order_id, ...item } of items) {
    let list = byOrder.get(order_id);
    if (!list) byOrder.set(order_id, (list = []));
    list.push({ ...item, subtotal: Number(item.subtotal) });
  }
  return rows.map((r) => ({ ...r, total_amount: Number(r.total_amount), shipping_address: addressOf(r.shipping_address), items: byOrder.get(r.id) ?? [] }));
}

/** jsonb keeps its own key order; answers keep the contract's. */
function addressOf(a: ShippingAddress | null): ShippingAddress | null {
  return a && { recipient_name: a.recipient_name, phone: a.phone, address: a.address, address_detail: a.address_detail, postal_code: a.postal_code };
}

export class OrderStore {
  constructor(readonly sql: Sql) {}

  /**
   * One transaction for a batch of placement requests (arrival order): claims their
   * idempotency keys, locks the deal and product rows they name once, decides every order
   * from those rows, writes the granted orders, items, stock and holdings with one statement
   * each, and stores every keyed answer. Statements are pipelined (sent without waiting for
   * the one before), so the batch costs two round trips besides BEGIN and COMMIT.
   */
  async placeBatch(requests: PlacementRequest[]): Promise<BatchOutcome> {
    const keyed = requests.filter((r) => r.idempotency !== null);
    const dealIds = sorted(requests.flatMap((r) => r.items.flatMap((i) => (i.deal_id === null ? [] : [i.deal_id]))));
    const productIds = sorted(requests.flatMap((r) => r.items.map((i) => i.product_id)));
    const pairs = sorted(requests.flatMap((r) => r.items.flatMap((i) => (i.deal_id === null ? [] : [holdingKey(r.userId, i.deal_id)])))).map((k) => k.split("\u0000"));
    return pipelinedTransaction(this.sql, async (tx) => {
      // Keys first, in a fixed order, then rows: every transaction takes its locks in the same order.
      const claimKeys = keyed.map((r) => [r.userId, r.idempotency!.key, r.idempotency!.fingerprint]).sort((a, b) => (a[0]! + "\u0000" + a[1] < b[0]! + "\u0000" + b[1] ? -1 : 1));
      const claiming =
        claimKeys.length === 0
          ? Promise.resolve([] as { user_id: string; key: string }[])
          : tx<{ user_id: string; key: string }[]>`
              insert into orders.idempotency_keys as k (user_id, key, fingerprint, status, body)
              select u, k, f, 0, '' from unnest(${claimKeys.map((c) => c[0]!)}::text[], ${claimKeys.map((c) => c[1]!)}::text[], ${claimKeys.map((c) => c[2]!)}::text[]) as t(u, k, f)
              on conflict (user_id, key) do update set fingerprint = excluded.fingerprint, status = 0, body = '', created_at = now()
                where k.created_at < now() - ${KEY_LIFETIME}::interval
              returning user_id, key`;
      const earlier =
        claimKeys.length === 0
          ? Promise.resolve([] as { user_id: string; key: string; fingerprint: string; status: number; body: string }[])
          : tx<{ user_id: string; key: string; fingerprint: string; status: number; body: string }[]>`
              select k.user_id, k.key, k.fingerprint, k.status, k.body from orders.idempotency_keys k
              join unnest(${claimKeys.map((c) => c[0]!)}::text[], ${claimKeys.map((c) => c[1]!)}::text[]) as w(user_id, key) using (user_id, key)
              where k.status <> 0`;
      const deals = dealIds.length === 0 ? Promise.resolve([] as LockedDeal[]) : tx<LockedDeal[]>`select * from product.lock_deals(${dealIds}::uuid[])`;
      const products = tx<LockedProduct[]>`select * from product.lock_products(${productIds}::uuid[])`;
      const holdings =
        pairs.length === 0
          ? Promise.resolve([] as { user_id: string; deal_id: string; units: number }[])
          : tx<{ user_id: string; deal_id: string; units: number }[]>`
              select h.user_id, h.deal_id, h.units from orders.deal_holdings h
              join unnest(${pairs.map((p) => p[0]!)}::text[], ${pairs.map((p) => p[1]!)}::uuid[]) as w(user_id, deal_id) using (user_id, deal_id)`;
      const [claimed, answered, dealRows, productRows, holdingRows] = await Promise.all([claiming, earlier, deals, products, holdings]);

      const fresh = new Set(claimed.map((c) => c.user_id + "\u0000" + c.key));
      const stored = new Map(answered.map((a) => [a.user_id + "\u0000" + a.key, a]));
      const rows: LockedRows = {
        deals: new Map(dealRows.map((d) => [d.id, { ...d }])),
        products: new Map(productRows.map((p) => [p.id, { ...p }])),
        holdings: new Map(holdingRows.map((h) => [holdingKey(h.user_id, h.deal_id), h.units])),
      };
      // A request whose key was answered before gets that answer; the others are decided.
      const answers: (Answer | null)[] = requests.map((r) => {
        if (r.idempotency === null) return null;
        const id = r.userId + "\u0000" + r.idempotency.key;
        if (fresh.has(id)) return null;
        const first = stored.get(id);
        if (!first) throw new Error("an idempotency key was neither claimed nor answered");
        if (first.fingerprint !== r.idempotency.fingerprint) return keyReused();
        return { status: first.status, body: JSON.parse(first.body) };
      });
      const toDecide = requests.filter((_, i) => answers[i] === null);
      const batch = decideBatch(toDecide, rows, Date.now());
      const orders: Order[] = [];
      let next = 0;
      for (let i = 0; i < requests.length; i++) {
        if (answers[i] !== null) continue;
        const d = batch.decisions[next++]!;
        if (d.granted) {
          orders.push(d.order);
          answers[i] = { status: 201, body: orderJson(d.order) };
        } else answers[i] = d.answer;
      }

      const writes: Promise<unknown>[] = [];
      if (orders.length > 0) {
        writes.push(tx`
          insert into orders.orders (id, user_id, status, total_amount, shipping_address, created_at, updated_at)
          select id, user_id, 'confirmed', total, address::jsonb, at, at from unnest(
            ${orders.map((o) => o.id)}::uuid[], ${orders.map((o) => o.user_id)}::text[], ${orders.map((o) => o.total_amount)}::int8[],
            ${orders.map((o) => (o.shipping_address ? JSON.stringify(o.shipping_address) : null))}::text[], ${orders.map((o) => o.created_at.toISOString())}::timestamptz[]
          ) as t(id, user_id, total, address, at)`);
        const items = orders.flatMap((o) => o.items.map((item, position) => ({ ...item, order_id: o.id, position })));
        writes.push(tx`
          insert into orders.order_items (id, order_id, position, product_id, deal_id, product_name, quantity, unit_price, subtotal)
          select * from unnest(
            ${items.map((i) => i.id)}::uuid[], ${items.map((i) => i.order_id)}::uuid[], ${items.map((i) => i.position)}::int2[],
            ${items.map((i) => i.product_id)}::uuid[], ${items.map((i) => i.deal_id)}::uuid[], ${items.map((i) => i.product_name)}::text[],
            ${items.map((i) => i.quantity)}::int4[], ${items.map((i) => i.unit_price)}::int4[], ${items.map((i) => i.subtotal)}::int8[])`);
        writes.push(changeStock(tx, batch.dealDeltas, batch.productDeltas));
      }
      if (batch.holdingDeltas.size > 0) {
        const keys = [...batch.holdingDeltas.keys()].sort().map((k) => k.split("\u0000"));
        writes.push(tx`
          insert into orders.deal_holdings as h (user_id, deal_id, units)
          select * from unnest(${keys.map((k) => k[0]!)}::text[], ${keys.map((k) => k[1]!)}::uuid[], ${keys.map((k) => batch.holdingDeltas.get(k[0] + "\u0000" + k[1])!)}::int4[])
          on conflict (user_id, deal_id) do update set units = h.units + excluded.units`);
      }
      const toStore = requests.flatMap((r, i) => (r.idempotency !== null && fresh.has(r.userId + "\u0000" + r.idempotency.key) ? [{ r, a: answers[i]! }] : []));
      if (toStore.length > 0)
        writes.push(tx`
          update orders.idempotency_keys k set status = w.status, body = w.body
          from unnest(${toStore.map((s) => s.r.userId)}::text[], ${toStore.map((s) => s.r.idempotency!.key)}::text[],
                      ${toStore.map((s) => s.a.status)}::int2[], ${toStore.map((s) => JSON.stringify(s.a.body))}::text[]) as w(user_id, key, status, body)
          where k.user_id = w.user_id and k.key = w.key`);
      return { value: { answers: answers as Answer[], soldOut: batch.soldOut, written: orders.length }, writes };
    });
  }

  /** Deletes every Idempotency-Key past its lifetime, a chunk per statement; resolves to how many. */
  async deleteExpiredKeys(): Promise<number> {
    let deleted = 0;
    for (;;) {
      const { count } = await this.sql`
        delete from orders.idempotency_keys where ctid = any(array(
          select ctid from orders.idempotency_keys where created_at < now() - ${KEY_LIFETIME}::interval limit ${SWEEP_CHUNK}))`;
      deleted += count;
      if (count < SWEEP_CHUNK) return deleted;
    }
  }

  /** The caller's orders, newest first. */
  async list(userId: string, page: number, size: number, status: OrderStatus | undefined): Promise<{ items: Order[]; total: number }> {
    const where = status === undefined ? this.sql`user_id = ${userId}` : this.sql`user_id = ${userId} and status = ${status}`;
    const [rows, [count]] = await Promise.all([
      this.sql<OrderRow[]>`select ${this.sql(ORDER_COLUMNS)} from orders.orders where ${where} order by created_at desc, id desc limit ${size} offset ${(page - 1) * size}`,
      this.sql<{ total: number }[]>`select count(*)::int as total from orders.orders where ${where}`,
    ]);
    return { items: await this.withItems(this.sql, rows), total: count!.total };
  }

  /** The caller's order, or null when it does not exist or is another user's. */
  async get(userId: string, id: string): Promise<Order | null> {
    const rows = await this.sql<OrderRow[]>`select ${this.sql(ORDER_COLUMNS)} from orders.orders where id = ${id} and user_id = ${userId}`;
    return (await this.withItems(this.sql, rows))[0] ?? null;
  }

  /**
   * Cancels the caller's order and gives its stock back in the same transaction. The order
   * row is locked first, so of two concurrent cancels the second sees the first's result.
   */
  async cancel(userId: string, id: string, reason: string | null): Promise<CancelOutcome> {
    return this.sql.begin(async (tx) => {
      const [row] = await tx<OrderRow[]>`select ${tx(ORDER_COLUMNS)} from orders.orders where id = ${id} and user_id = ${userId} for update`;
      if (!row) return { ok: false, error: new ApiError("NOT_FOUND", "No such order") };
      if (!CANCELLABLE.has(row.status)) return { ok: false, error: new ApiError("CANNOT_CANCEL", `An order that is ${row.status} cannot be cancelled`, { status: row.status }) };
      const [order] = await this.withItems(tx, [row]);
      const dealDeltas = new Map<string, number>();
      const productDeltas = new Map<string, number>();
      for (const i of order!.items) {
        productDeltas.set(i.product_id, (productDeltas.get(i.product_id) ?? 0) + i.quantity);
        if (i.deal_id !== null) dealDeltas.set(i.deal_id, (dealDeltas.get(i.deal_id) ?? 0) + i.quantity);
      }
      // Locked in the order placing uses (deals, then products, by id) so the two never deadlock.
      const dealIds = sorted(dealDeltas.keys());
      if (dealIds.length > 0) await tx`select 1 from product.lock_deals(${dealIds}::uuid[])`;
      await tx`select 1 from product.lock_products(${sorted(productDeltas.keys())}::uuid[])`;
      await changeStock(tx, dealDeltas, productDeltas);
      if (dealIds.length > 0)
        await tx`update orders.deal_holdings h set units = h.units - w.units
                 from unnest(${dealIds}::uuid[], ${dealIds.map((d) => dealDeltas.get(d)!)}::int4[]) as w(deal_id, units)
                 where h.user_id = ${userId} and h.deal_id = w.deal_id`;
      const [updated] = await tx<OrderRow[]>`
        update orders.orders set status = 'cancelled', cancelled_at = clock_timestamp(), cancel_reason = ${reason}, updated_at = clock_timestamp()
        where id = ${id} returning ${tx(ORDER_COLUMNS)}`;
      return { ok: true, order: { ...order!, ...assemble([updated!], [])[0]!, items: order!.items } };
    });
  }

  private async withItems(sql: Sql | TransactionSql, rows: readonly OrderRow[]): Promise<Order[]> {
    if (rows.length === 0) return [];
    const items = await sql<ItemRow[]>`
      select ${sql(ITEM_COLUMNS)} from orders.order_items where order_id = any(${rows.map((r) => r.id)}::uuid[]) order by order_id, position`;
    return assemble(rows, items);
  }
}

function changeStock(tx: TransactionSql | ReservedSql, dealDeltas: Map<string, number>, productDeltas: Map<string, number>) {
  const deals = sorted(dealDeltas.keys());
  const products = sorted(productDeltas.keys());
  return tx`select product.change_stock(${deals}::uuid[], ${deals.map((d) => dealDeltas.get(d)!)}::int4[], ${products}::uuid[], ${products.map((p) => productDeltas.get(p)!)}::int4[])`;
}

/**
 * Deciding a batch of orders from the rows its transaction has locked: stock is granted in
 * arrival order until it runs out, and every rule that can refuse one order (unknown product
 * or deal, a deal of another product, a deal not active, the per-user limit, stock) is decided
 * here, in memory. The transaction then only writes what this decided, so one bad order can
 * never fail the statements, and with them the batch, for the others.
 */
import { dealStatus } from "../lib/deal-status.ts";
import { ApiError } from "../lib/errors.ts";
import { answerOf, type Answer, type Order, type OrderItem, type PlacementRequest } from "./model.ts";

export interface LockedDeal {
  id: string;
  product_id: string;
  deal_price: number;
  remaining_stock: number;
  starts_at: Date;
  ends_at: Date;
  max_per_user: number | null;
}

export interface LockedProduct {
  id: string;
  name: string;
  price: number;
  stock: number;
}

export interface LockedRows {
  deals: Map<string, LockedDeal>;
  products: Map<string, LockedProduct>;
  /** Units of a deal a user holds now, keyed by `holdingKey`. */
  holdings: Map<string, number>;
}

export type Decision = { granted: true; order: Order } | { granted: false; answer: Answer };

export interface BatchDecision {
  decisions: Decision[];
  /** Stock to take: negative deltas per deal and per product. */
  dealDeltas: Map<string, number>;
  productDeltas: Map<string, number>;
  /** Units each (user, deal) pair gains, keyed by `holdingKey`, for deals with a per-user limit. */
  holdingDeltas: Map<string, number>;
  /** Deals that have nothing left once the batch commits, each with its own product. */
  soldOut: SoldOutDeal[];
}

export interface SoldOutDeal {
  dealId: string;
  /** The deal's product, from its row: a request may have named it with another (INVALID_DEAL). */
  productId: string;
}

export const holdingKey = (userId: string, dealId: string) => `${userId}\u0000${dealId}`;

const refuse = (e: ApiError): Decision => ({ granted: false, answer: answerOf(e) });

/** UUIDv7: the ids a spike writes land at the end of their primary keys' indexes, not each on a random page. */
const timeOrderedId = () => Bun.randomUUIDv7();

const add = (m: Map<string, number>, key: string, n: number) => m.set(key, (m.get(key) ?? 0) + n);

/**
 * Decides each request in the order given (arrival order). `rows` is changed as stock is
 * granted, so later requests see what earlier ones took.
 */
export function decideBatch(requests: PlacementRequest[], rows: LockedRows, now: number, newId: () => string = timeOrderedId): BatchDecision {
  const out: BatchDecision = { decisions: [], dealDeltas: new Map(), productDeltas: new Map(), holdingDeltas: new Map(), soldOut: [] };
  const touchedDeals = new Set<string>();
  for (const request of requests) {
    const decision = decideOne(request, rows, now, newId);
    out.decisions.push(decision);
    if (!decision.granted) continue;
    for (const item of decision.order.items) {
      add(out.productDeltas, item.product_id, -item.quantity);
      rows.products.get(item.product_id)!.stock -= item.quantity;
      if (item.deal_id === null) continue;
      add(out.dealDeltas, item.deal_id, -item.quantity);
      rows.deals.get(item.deal_id)!.remaining_stock -= item.quantity;
      touchedDeals.add(item.deal_id);
      // Holdings are what a limit is checked against; a deal without one needs no row per buyer.
      if (rows.deals.get(item.deal_id)!.max_per_user === null) continue;
      const key = holdingKey(request.userId, item.deal_id);
      add(out.holdingDeltas, key, item.quantity);
      add(rows.holdings, key, item.quantity);
    }
  }
  for (const request of requests) for (const item of request.items) if (item.deal_id !== null) touchedDeals.add(item.deal_id);
  for (const id of touchedDeals) {
    const deal = rows.deals.get(id);
    if (deal !== undefined && deal.remaining_stock <= 0) out.soldOut.push({ dealId: id, productId: deal.product_id });
  }
  return out;
}

function decideOne(request: PlacementRequest, rows: LockedRows, now: number, newId: () => string): Decision {
  // What this order takes so far, per deal and product: one order may name a row twice.
  const fromDeal = new Map<string, number>();
  const fromProduct = new Map<string, number>();
  const items: OrderItem[] = [];
  for (const item of request.items) {
    const product = rows.products.get(item.product_id);
    if (!product) return refuse(new ApiError("PRODUCT_NOT_FOUND", "No such product", { product_id: item.product_id }));
    let unitPrice = product.price;
    if (item.deal_id !== null) {
      const deal = rows.deals.get(item.deal_id);
      if (!deal) return refuse(new ApiError("DEAL_NOT_FOUND", "No such deal", { deal_id: item.deal_id }));
      if (deal.product_id !== item.product_id)
        return refuse(new ApiError("INVALID_DEAL", "The deal is not for this product", { deal_id: deal.id, product_id: item.product_id }));
      const status = dealStatus(deal, now);
      if (status !== "active") return refuse(new ApiError("DEAL_NOT_ACTIVE", `The deal is ${status.replace("_", " ")}`, { deal_id: deal.id, status }));
      const wanted = (fromDeal.get(deal.id) ?? 0) + item.quantity;
      if (deal.max_per_user !== null) {
        const held = rows.holdings.get(holdingKey(request.userId, deal.id)) ?? 0;
        if (held + wanted > deal.max_per_user)
          return refuse(new ApiError("PURCHASE_LIMIT_EXCEEDED", `At most ${deal.max_per_user} of this deal per buyer`, { deal_id: deal.id, limit: deal.max_per_user, held }));
      }
      if (deal.remaining_stock < wanted)
        return refuse(new ApiError("INSUFFICIENT_STOCK", "Not enough of this deal left", { deal_id: deal.id, requested: wanted, available: deal.remaining_stock }));
      fromDeal.set(deal.id, wanted);
      unitPrice = deal.deal_price;
    }
    const wanted = (fromProduct.get(product.id) ?? 0) + item.quantity;
    if (product.stock < wanted)
      return refuse(new ApiError("INSUFFICIENT_STOCK", "Not enough of this product in stock", { product_id: product.id, requested: wanted, available: product.stock }));
    fromProduct.set(product.id, wanted);
    items.push({ id: newId(), product_id: product.id, deal_id: item.deal_id, product_name: product.name, quantity: item.quantity, unit_price: unitPrice, subtotal: unitPrice * item.quantity });
  }
  const at = request.receivedAt;
  return {
    granted: true,
    order: {
      id: newId(),
      user_id: request.userId,
      items,
      total_amount: items.reduce((sum, i) => sum + i.subtotal, 0),
      status: "confirmed",
      shipping_address: request.shippingAddress,
      cancelled_at: null,
      cancel_reason: null,
      created_at: at,
      updated_at: at,
    },
  };
}

/** Deciding a batch from its locked rows: arrival order, every refusal, what the batch writes. */
import { describe, expect, test } from "bun:test";
import type { PlacementRequest, RequestedItem } from "./model.ts";
import { dealStatus } from "../lib/deal-status.ts";
import { decideBatch, holdingKey, type LockedRows } from "./placement.ts";

const NOW = Date.parse("2030-05-01T11:00:00Z");
const P = "00000000-0000-4000-8000-000000000001";
const Q = "00000000-0000-4000-8000-000000000002";
const D = "00000000-0000-4000-8000-000000000003";

function rows(o: { dealStock?: number; productStock?: number; maxPerUser?: number | null; holdings?: [string, number][] } = {}): LockedRows {
  return {
    deals: new Map([[D, { id: D, product_id: P, deal_price: 700, remaining_stock: o.dealStock ?? 5, starts_at: new Date(NOW - 3600_000), ends_at: new Date(NOW + 3600_000), max_per_user: o.maxPerUser ?? null }]]),
    products: new Map([
      [P, { id: P, name: "Kettle", price: 1000, stock: o.productStock ?? 100 }],
      [Q, { id: Q, name: "Mug", price: 300, stock: 1 }],
    ]),
    holdings: new Map((o.holdings ?? []).map(([user, n]) => [holdingKey(user, D), n])),
  };
}

const request = (userId: string, ...items: Partial<RequestedItem>[]): PlacementRequest => ({
  userId,
  items: items.map((i) => ({ product_id: P, deal_id: null, quantity: 1, ...i })),
  shippingAddress: null,
  idempotency: null,
  receivedAt: new Date(NOW),
});

const codes = (d: ReturnType<typeof decideBatch>) => d.decisions.map((x) => (x.granted ? 201 : (x.answer.body as { error: string }).error));

describe("decideBatch", () => {
  test("grants in arrival order until the deal runs out; the rest are refused as sold out", () => {
    const batch = decideBatch(["a", "b", "c", "d"].map((u) => request(u, { deal_id: D, quantity: 2 })), rows({ dealStock: 5 }), NOW);
    expect(codes(batch)).toEqual([201, 201, "INSUFFICIENT_STOCK", "INSUFFICIENT_STOCK"]);
    expect(batch.dealDeltas.get(D)).toBe(-4);
    expect(batch.productDeltas.get(P)).toBe(-4);
    expect(batch.soldOut).toEqual([]);
    const exact = decideBatch(["a", "b", "c"].map((u) => request(u, { deal_id: D, quantity: 2 })), rows({ dealStock: 4 }), NOW);
    expect(codes(exact)).toEqual([201, 201, "DEAL_NOT_ACTIVE"]);
    expect((exact.decisions[2] as { answer: { body: { details: unknown } } }).answer.body.details).toEqual({ deal_id: D, status: "sold_out" });
    expect(exact.soldOut).toEqual([{ dealId: D, productId: P }]);
  });

  test("an order: deal price for a deal item, product price otherwise, subtotals and total, the product's name", () => {
    const batch = decideBatch([request("a", { deal_id: D, quantity: 2 }, { quantity: 3 })], rows(), NOW, () => "id");
    const d = batch.decisions[0]!;
    expect(d.granted).toBe(true);
    if (!d.granted) return;
    expect(d.order.items.map((i) => [i.product_name, i.unit_price, i.subtotal])).toEqual([["Kettle", 700, 1400], ["Kettle", 1000, 3000]]);
    expect(d.order).toMatchObject({ total_amount: 4400, status: "confirmed", user_id: "a", created_at: new Date(NOW) });
  });

  test("every refusal, with its details, and a refused order takes nothing", () => {
    const missing = "00000000-0000-4000-8000-0000000000ff";
    const r = rows({ maxPerUser: 2, holdings: [["held", 2]] });
    const batch = decideBatch(
      [
        request("a", { product_id: missing }),
        request("a", { deal_id: missing }),
        request("a", { product_id: Q, deal_id: D }),
        request("held", { deal_id: D }),
        request("a", { deal_id: D, quantity: 3 }),
        request("a", { product_id: Q, quantity: 1 }, { product_id: Q, quantity: 1 }),
        request("a", { quantity: 1 }, { product_id: Q, quantity: 2 }),
      ],
      r,
      NOW,
    );
    expect(codes(batch)).toEqual(["PRODUCT_NOT_FOUND", "DEAL_NOT_FOUND", "INVALID_DEAL", "PURCHASE_LIMIT_EXCEEDED", "PURCHASE_LIMIT_EXCEEDED", "INSUFFICIENT_STOCK", "INSUFFICIENT_STOCK"]);
    expect(batch.decisions.map((d) => (d.granted ? null : d.answer.status))).toEqual([404, 404, 400, 400, 400, 400, 400]);
    expect((batch.decisions[3] as { answer: { body: { details: unknown } } }).answer.body.details).toEqual({ deal_id: D, limit: 2, held: 2 });
    expect(batch.productDeltas.size + batch.dealDeltas.size + batch.holdingDeltas.size).toBe(0);
    expect([r.products.get(P)!.stock, r.products.get(Q)!.stock, r.deals.get(D)!.remaining_stock]).toEqual([100, 1, 5]);
  });

  test("max_per_user counts what the same buyer got earlier in the batch", () => {
    const batch = decideBatch([request("a", { deal_id: D }), request("a", { deal_id: D }), request("b", { deal_id: D })], rows({ maxPerUser: 1 }), NOW);
    expect(codes(batch)).toEqual([201, "PURCHASE_LIMIT_EXCEEDED", 201]);
    expect(batch.holdingDeltas).toEqual(new Map([[holdingKey("a", D), 1], [holdingKey("b", D), 1]]));
  });

  test("a deal without a limit keeps no holdings", () => {
    expect(decideBatch([request("a", { deal_id: D })], rows(), NOW).holdingDeltas.size).toBe(0);
  });

  test("a deal item also needs the product's stock", () => {
    expect(codes(decideBatch([request("a", { deal_id: D, quantity: 2 })], rows({ productStock: 1 }), NOW))).toEqual(["INSUFFICIENT_STOCK"]);
  });
});

describe("dealStatus, as orders read it", () => {
  const deal = { remaining_stock: 1, starts_at: new Date(NOW), ends_at: new Date(NOW + 1000) };
  test("scheduled, active (both ends included), ended; sold out wins over the clock", () => {
    expect([NOW - 1, NOW, NOW + 1000, NOW + 1001].map((t) => dealStatus(deal, t))).toEqual(["scheduled", "active", "active", "ended"]);
    expect(dealStatus({ ...deal, remaining_stock: 0 }, NOW - 1)).toBe("sold_out");
  });
});

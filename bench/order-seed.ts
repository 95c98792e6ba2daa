/**
 * The products and deals one run of an order scenario buys from, made fresh for every run
 * through the gateway as a shop's staff would, so that each run starts from full stock and
 * the stock check after it looks at this run's orders alone.
 */
import { post } from "./seed.ts";

export interface DealSpec {
  /** deal_stock, and the product's stock too (the deal's units come out of both). */
  stock: number;
  /** null: no limit per user. */
  maxPerUser: number | null;
}

export interface SeededDeal {
  id: string;
  product_id: string;
  deal_stock: number;
  /** The product's stock when the run started. */
  product_stock: number;
  max_per_user: number | null;
}

export async function seedDeals(gatewayUrl: string, token: string, specs: DealSpec[], label: string): Promise<SeededDeal[]> {
  const now = Date.now();
  return Promise.all(
    specs.map(async (spec, i) => {
      const product = await post(gatewayUrl, "/products", { name: `${label} deal product ${i}`, description: "A product a bench order scenario sells out.", price: 20_000, stock: spec.stock, category: "deals" }, token);
      const deal = await post(
        gatewayUrl,
        "/products/deals",
        {
          product_id: product.id,
          deal_price: 9_900,
          deal_stock: spec.stock,
          starts_at: new Date(now - 60_000).toISOString(),
          ends_at: new Date(now + 86_400_000).toISOString(),
          ...(spec.maxPerUser === null ? {} : { max_per_user: spec.maxPerUser }),
        },
        token,
      );
      // A service that dropped the limit would make a per-user scenario measure something else.
      if ((deal.max_per_user ?? null) !== spec.maxPerUser) throw new Error(`seeding: the deal came back with max_per_user ${JSON.stringify(deal.max_per_user)}, not ${spec.maxPerUser}`);
      return { id: deal.id, product_id: product.id, deal_stock: spec.stock, product_stock: spec.stock, max_per_user: spec.maxPerUser };
    }),
  );
}

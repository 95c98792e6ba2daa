/**
 * The stock check on the test stack's PostgreSQL, after real orders: it adds up after orders
 * and a cancel, and it names the deal and product when units go missing behind the orders'
 * back (stock changed directly in the database, as a lost order would leave it).
 */
import { expect, test } from "bun:test";
import postgres from "postgres";
import { call } from "../dev/testing/http.ts";
import { TEST_JWT_SECRET, testStack } from "../dev/testing/test-stack.ts";
import { useEndToEndTimeouts } from "../dev/testing/timeouts.ts";
import { seedDeals } from "./order-seed.ts";
import { checkStock, describeMismatch } from "./stock-check.ts";
import { mintAccessToken } from "../dev/testing/tokens.ts";

useEndToEndTimeouts();

test("the stock check adds up after orders and a cancel, and names what does not", async () => {
  const stack = await testStack();
  const token = () => mintAccessToken(TEST_JWT_SECRET, crypto.randomUUID(), 600);
  const [deal, other] = await seedDeals(stack.gatewayUrl, token(), [{ stock: 10, maxPerUser: 2 }, { stock: 5, maxPerUser: null }], "stock check test");
  const order = (d: typeof deal, quantity: number, user = token()) => call(stack.gatewayUrl, "POST", "/orders", { token: user, body: { items: [{ product_id: d!.product_id, deal_id: d!.id, quantity }] } });
  const buyer = token();
  const placed = [await order(deal, 2, buyer), await order(deal, 1), await order(other, 3)];
  expect(placed.map((p) => p.status)).toEqual([201, 201, 201]);
  // over the limit and over the stock: refused, nothing taken
  expect((await order(deal, 1, buyer)).body.error).toBe("PURCHASE_LIMIT_EXCEEDED");
  expect((await order(other, 3)).body.error).toBe("INSUFFICIENT_STOCK");
  expect((await call(stack.gatewayUrl, "POST", `/orders/${placed[0]!.body.id}/cancel`, { token: buyer, body: {} })).status).toBe(200);

  const good = await checkStock(stack.databaseUrl, [deal!, other!]);
  expect(good.ok).toBe(true);
  expect({ orders: good.orders, units: good.units }).toEqual({ orders: 2, units: 4 });
  expect(good.lines).toEqual([
    { kind: "deal", id: deal!.id, taken: 1, ordered: 1 },
    { kind: "deal", id: other!.id, taken: 3, ordered: 3 },
    { kind: "product", id: deal!.product_id, taken: 1, ordered: 1 },
    { kind: "product", id: other!.product_id, taken: 3, ordered: 3 },
  ]);

  const sql = postgres(stack.databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`update product.deals set remaining_stock = remaining_stock - 1 where id = ${other!.id}`;
    await sql`update product.products set stock = stock + 2 where id = ${deal!.product_id}`;
  } finally {
    await sql.end();
  }
  const bad = await checkStock(stack.databaseUrl, [deal!, other!]);
  expect(bad.ok).toBe(false);
  expect(describeMismatch(bad)).toBe(`deal ${other!.id}: 4 units taken, 3 in orders that are not cancelled; product ${deal!.product_id}: -1 units taken, 1 in orders that are not cancelled`);
});

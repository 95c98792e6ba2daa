// Imported as text so `bun build --compile` embeds them in the executable.
import orders from "./001_orders.sql" with { type: "text" };
import keyAge from "./002_idempotency_key_age.sql" with { type: "text" };
import leanItems from "./003_lean_order_items.sql" with { type: "text" };
import holdingsByDeal from "./004_holdings_by_deal.sql" with { type: "text" };
import type { Migration } from "../../lib/db.ts";

export const migrations: Migration[] = [
  { name: "001_orders", sql: orders },
  { name: "002_idempotency_key_age", sql: keyAge },
  { name: "003_lean_order_items", sql: leanItems },
  { name: "004_holdings_by_deal", sql: holdingsByDeal },
];

// Imported as text so `bun build --compile` embeds them in the executable.
import catalog from "./001_catalog.sql" with { type: "text" };
import orderStock from "./002_deal_limits_and_order_stock.sql" with { type: "text" };
import soldOutInMemory from "./003_sold_out_deals_in_memory.sql" with { type: "text" };
import type { Migration } from "../../lib/db.ts";

export const migrations: Migration[] = [
  { name: "001_catalog", sql: catalog },
  { name: "002_deal_limits_and_order_stock", sql: orderStock },
  { name: "003_sold_out_deals_in_memory", sql: soldOutInMemory },
];

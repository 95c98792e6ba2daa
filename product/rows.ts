/** Rows as the database returns them, and their JSON shape in the contract (the request schemas are in model.ts). */
import { dealStatus } from "../lib/deal-status.ts";

export interface ProductRow {
  id: string;
  name: string;
  description: string | null;
  price: number;
  stock: number;
  category: string | null;
  image_url: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface DealRow {
  id: string;
  product_id: string;
  deal_price: number;
  deal_stock: number;
  remaining_stock: number;
  starts_at: Date;
  ends_at: Date;
  /** Most units one user may hold in orders that are not cancelled; null: no limit. */
  max_per_user: number | null;
  created_at: Date;
  product: ProductRow;
}

export const isLive = (d: DealRow, now: number) => dealStatus(d, now) === "active";

export const productJson = (p: ProductRow) => ({
  id: p.id,
  name: p.name,
  description: p.description,
  price: p.price,
  stock: p.stock,
  category: p.category,
  image_url: p.image_url,
  created_at: p.created_at.toISOString(),
  updated_at: p.updated_at.toISOString(),
});

export const dealJson = (d: DealRow, now: number) => ({
  id: d.id,
  product_id: d.product_id,
  product: productJson(d.product),
  deal_price: d.deal_price,
  original_price: d.product.price,
  deal_stock: d.deal_stock,
  remaining_stock: d.remaining_stock,
  starts_at: d.starts_at.toISOString(),
  ends_at: d.ends_at.toISOString(),
  status: dealStatus(d, now),
  max_per_user: d.max_per_user,
  created_at: d.created_at.toISOString(),
});

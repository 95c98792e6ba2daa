/**
 * A deal's status in the contract, on the clock to the millisecond: product shows it in every
 * deal, and the order service refuses an order for a deal that is not active. One rule, so the
 * list a buyer reads and the order they place never disagree.
 */
export type DealStatus = "scheduled" | "active" | "ended" | "sold_out";

/** Sold out wins over the clock: a deal with nothing left is over for every buyer. */
export function dealStatus(d: { remaining_stock: number; starts_at: Date; ends_at: Date }, now: number): DealStatus {
  if (d.remaining_stock <= 0) return "sold_out";
  if (now < d.starts_at.getTime()) return "scheduled";
  if (now > d.ends_at.getTime()) return "ended";
  return "active";
}

/**
 * Deals this instance has seen sell out, so the orders that keep coming for them are refused
 * from memory, without a database round trip. A mark is dropped when a cancel on this
 * instance gives units back, and expires after `ttlMs`: then the next order asks the
 * database again, so units given back through another instance are sold within that time.
 */
import { ApiError } from "../lib/errors.ts";
import { answerOf, type Answer } from "./model.ts";

export class SoldOutDeals {
  private readonly marks = new Map<string, { productId: string; until: number; refusal: Answer }>();

  constructor(private readonly ttlMs: number) {}

  mark(dealId: string, productId: string, now = Date.now()): void {
    // Made once per mark: every order refused meanwhile gets the same answer.
    const refusal = answerOf(new ApiError("DEAL_NOT_ACTIVE", "The deal is sold out", { deal_id: dealId, status: "sold_out" }));
    this.marks.set(dealId, { productId, until: now + this.ttlMs, refusal });
  }

  /** The refusal of an order of `productId` through `dealId` known to be sold out, or null. */
  refusal(dealId: string, productId: string, now = Date.now()): Answer | null {
    const mark = this.marks.get(dealId);
    if (mark === undefined) return null;
    if (now >= mark.until) {
      this.marks.delete(dealId);
      return null;
    }
    // A deal of another product is refused as INVALID_DEAL, which the database decides.
    return mark.productId === productId ? mark.refusal : null;
  }

  clear(dealId: string): void {
    this.marks.delete(dealId);
  }
}

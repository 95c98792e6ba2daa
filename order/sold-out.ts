/**
 * Deals this instance has seen sell out, so the orders that keep coming for them are refused
 * from memory, without a database round trip. A mark is dropped when a cancel on this
 * instance gives units back, and expires after `ttlMs`: then the next order asks the
 * database again, so units given back through another instance are sold within that time.
 */
export class SoldOutDeals {
  private readonly marks = new Map<string, { productId: string; until: number }>();

  constructor(private readonly ttlMs: number) {}

  mark(dealId: string, productId: string, now = Date.now()): void {
    this.marks.set(dealId, { productId, until: now + this.ttlMs });
  }

  /** Whether an order of `productId` through `dealId` is known to be refused as sold out. */
  has(dealId: string, productId: string, now = Date.now()): boolean {
    const mark = this.marks.get(dealId);
    if (mark === undefined) return false;
    if (now >= mark.until) {
      this.marks.delete(dealId);
      return false;
    }
    // A deal of another product is refused as INVALID_DEAL, which the database decides.
    return mark.productId === productId;
  }

  clear(dealId: string): void {
    this.marks.delete(dealId);
  }
}

import { Fifo } from "../lib/fifo.ts";

/**
 * Token buckets by key (a token's subject, a client address): `rate` tokens a second up to
 * `burst`. A request takes one; an empty bucket says how long until it has one again.
 */

interface Bucket {
  tokens: number;
  at: number;
}

/** Oldest buckets looked at when a new one is made past `maxKeys`: the work a request may do for the others. */
const LOOKS_PER_NEW_KEY = 4;

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  /**
   * Keys, oldest first, to forget them a few at a time as new ones come. Forgetting every full
   * bucket at once when the map was full walked all of them in one request: with every buyer a
   * new subject (a sale), one request in 100,000 held the gateway for tens of ms.
   */
  private readonly order = new Fifo<string>();

  /** `rate` 0: no limit. `maxKeys`: buckets kept; past it, full ones are forgotten (they behave as new ones). */
  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly maxKeys = 100_000,
  ) {}

  /** Buckets held now. */
  get size(): number {
    return this.buckets.size;
  }

  /** 0 when the request may go; else the seconds to wait (for Retry-After). */
  take(key: string, now = Date.now()): number {
    if (this.rate <= 0) return 0;
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= this.maxKeys) this.forgetOldest(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
      this.order.push(key);
    } else {
      b.tokens = Math.min(this.burst, this.tokensAt(b, now));
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.rate));
  }

  /** What the bucket holds at `now`, its refill counted but not yet capped at `burst`. */
  private tokensAt(b: Bucket, now: number): number {
    return b.tokens + ((now - b.at) / 1000) * this.rate;
  }

  /**
   * Looks at a few of the oldest keys: a full bucket is forgotten, one in use goes to the back.
   * Should every one looked at be in use, the oldest goes, rather than memory without bound.
   */
  private forgetOldest(now: number): void {
    let busy: string | undefined;
    for (let looked = 0; looked < LOOKS_PER_NEW_KEY; looked++) {
      const key = this.order.shift();
      if (key === undefined) break;
      const b = this.buckets.get(key);
      if (b === undefined) continue;
      if (this.tokensAt(b, now) >= this.burst) {
        this.buckets.delete(key);
        break;
      }
      busy ??= key;
      this.order.push(key);
    }
    if (this.buckets.size >= this.maxKeys && busy !== undefined) this.buckets.delete(busy);
  }
}

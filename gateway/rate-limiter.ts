/**
 * Token buckets by key (a token's subject, a client address): `rate` tokens a second up to
 * `burst`. A request takes one; an empty bucket says how long until it has one again.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /** `rate` 0: no limit. `maxKeys`: buckets kept; past it, full ones are forgotten (they behave as new ones). */
  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly maxKeys = 100_000,
  ) {}

  /** 0 when the request may go; else the seconds to wait (for Retry-After). */
  take(key: string, now = Date.now()): number {
    if (this.rate <= 0) return 0;
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= this.maxKeys) this.forgetFull(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.rate));
  }

  private forgetFull(now: number): void {
    for (const [key, b] of this.buckets) if (b.tokens + ((now - b.at) / 1000) * this.rate >= this.burst) this.buckets.delete(key);
    // Every one busy: the oldest go, rather than memory without bound.
    if (this.buckets.size >= this.maxKeys) for (const key of [...this.buckets.keys()].slice(0, this.maxKeys / 10)) this.buckets.delete(key);
  }
}

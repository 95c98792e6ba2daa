import { describe, expect, test } from "bun:test";
import { TokenBuckets } from "./rate-limiter.ts";

describe("TokenBuckets", () => {
  test("a burst, then one request per token as they come back, with the wait said", () => {
    const b = new TokenBuckets(2, 3);
    expect([b.take("k", 0), b.take("k", 0), b.take("k", 0)]).toEqual([0, 0, 0]);
    expect(b.take("k", 0)).toBe(1);
    expect(b.take("k", 500)).toBe(0);
    expect(b.take("k", 500)).toBe(1);
    expect(b.take("other", 500)).toBe(0);
  });

  test("rate 0 limits nothing and keeps nothing", () => {
    const b = new TokenBuckets(0, 1);
    for (let i = 0; i < 10; i++) expect(b.take("k", 0)).toBe(0);
    expect(b.size).toBe(0);
  });

  test("past maxKeys a new key forgets one full bucket, not every one at once", () => {
    const b = new TokenBuckets(1, 1, 100);
    for (let i = 0; i < 100; i++) b.take(`old${i}`, 0);
    // All refilled by now; forgetting them all in one request was a pause per 100,000 new subjects.
    b.take("new", 5_000);
    expect(b.size).toBe(100);
    for (let i = 0; i < 50; i++) b.take(`newer${i}`, 5_000);
    expect(b.size).toBe(100);
  });

  test("a bucket in use outlives full ones older than it, and stays limited", () => {
    const b = new TokenBuckets(0.5, 2, 10);
    for (let i = 0; i < 9; i++) b.take(`idle${i}`, -3_000);
    expect([b.take("busy", 0), b.take("busy", 0)]).toEqual([0, 0]);
    for (let i = 0; i < 9; i++) b.take(`new${i}`, 1_500);
    expect(b.size).toBe(10);
    expect(b.take("busy", 1_500)).toBe(1);
  });

  test("when every bucket is in use, the oldest goes rather than memory without bound", () => {
    const b = new TokenBuckets(0.001, 1, 10);
    for (let i = 0; i < 25; i++) b.take(`k${i}`, 0);
    expect(b.size).toBe(10);
    // k0 was forgotten: it starts again with a full bucket.
    expect(b.take("k0", 0)).toBe(0);
    expect(b.take("k24", 0)).toBeGreaterThan(0);
  });
});

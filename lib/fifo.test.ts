import { describe, expect, test } from "bun:test";
import { heapAfterGc } from "../dev/testing/heap.ts";
import { Fifo } from "./fifo.ts";

describe("Fifo", () => {
  test("first in, first out, by one or by a batch; empty gives undefined", () => {
    const q = new Fifo<number>();
    expect(q.shift()).toBeUndefined();
    for (let i = 0; i < 5000; i++) q.push(i);
    expect(q.shift()).toBe(0);
    expect(q.take(3)).toEqual([1, 2, 3]);
    const rest: number[] = [];
    for (let x = q.shift(); x !== undefined; x = q.shift()) rest.push(x);
    expect(rest).toEqual(Array.from({ length: 4996 }, (_, i) => i + 4));
    expect(q.length).toBe(0);
    expect(q.take(10)).toEqual([]);
    q.push(7);
    q.clear();
    expect(q.length).toBe(0);
  });

  test("a queue that never empties keeps only what it holds", () => {
    const q = new Fifo<{ id: number }>();
    for (let i = 0; i < 10; i++) q.push({ id: i });
    const before = heapAfterGc();
    for (let i = 0; i < 2_000_000; i++) q.push(q.shift()!);
    // Eight bytes a turn were it keeping a slot for each: 16 MB.
    expect(heapAfterGc() - before).toBeLessThan(2_000_000);
    expect(q.length).toBe(10);
    expect(q.take(10).map((x) => x.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

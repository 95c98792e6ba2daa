/**
 * postgres.js keeps its pool's connections in queues (`src/queue.js`), and under load one never
 * empties: with every connection busy, each query takes one from the front and puts it back.
 * Unpatched, a queue that never emptied kept a slot for everything it ever held, and moving a
 * connection between queues searched them all: each query on a busy pool cost more than the one
 * before, without bound (patches/postgres@3.4.9.patch).
 */
import { describe, expect, test } from "bun:test";
import { heapAfterGc } from "../dev/testing/heap.ts";

/** The queue postgres.js's pool is made of (not exported by the package, so imported by path). */
interface PoolQueue<T> {
  readonly length: number;
  push(x: T): T;
  shift(): T;
  remove(x: T): T | null;
}
const QUEUE_MODULE: string = "../node_modules/postgres/src/queue.js";
const Queue = (await import(QUEUE_MODULE)).default as <T>(initial: T[]) => PoolQueue<T>;

const ROTATIONS = 2_000_000;

describe("postgres.js pool queue", () => {
  test("a queue that never empties keeps only what it holds", () => {
    const connections = Array.from({ length: 10 }, (_, i) => ({ id: i }));
    const queue = Queue(connections);
    const before = heapAfterGc();
    for (let i = 0; i < ROTATIONS; i++) queue.push(queue.shift());
    // Eight bytes a rotation were it keeping a slot for each: 16 MB.
    expect(heapAfterGc() - before).toBeLessThan(2_000_000);
    expect(queue.length).toBe(10);
  });

  test("it stays a queue: first in, first out, and remove takes out exactly the one named", () => {
    const xs = Array.from({ length: 5 }, (_, i) => ({ id: i }));
    const queue = Queue(xs);
    for (let i = 0; i < 1000; i++) queue.push(queue.shift());
    expect(queue.remove(xs[2])).toBe(xs[2]);
    expect(queue.remove(xs[2])).toBeNull();
    expect(queue.length).toBe(4);
    expect([queue.shift(), queue.shift(), queue.shift(), queue.shift()]).toEqual([xs[0], xs[1], xs[3], xs[4]]);
    expect(queue.length).toBe(0);
    queue.push(xs[2]);
    expect(queue.shift()).toBe(xs[2]);
  });
});

import { expect, test } from "bun:test";
import { ConcurrencyLimit, Overloaded } from "./concurrency-limit.ts";

test("runs at most `concurrency` at once, queues `queue` more in order, refuses the rest at once", async () => {
  const limit = new ConcurrencyLimit(2, 3);
  let running = 0;
  let most = 0;
  const order: number[] = [];
  const releases: (() => void)[] = [];
  const task = (i: number) => () =>
    new Promise<number>((resolve) => {
      running++;
      most = Math.max(most, running);
      order.push(i);
      releases.push(() => {
        running--;
        resolve(i);
      });
    });
  const results = Array.from({ length: 7 }, (_, i) => limit.run(task(i)).then((v) => v, (e) => e));
  await Bun.sleep(0);
  expect(limit.load).toEqual({ running: 2, waiting: 3 });
  expect(limit.full).toBe(true);
  expect(await results[5]).toBeInstanceOf(Overloaded);
  expect(await results[6]).toBeInstanceOf(Overloaded);
  while (releases.length) {
    releases.shift()!();
    await Bun.sleep(0);
  }
  expect(await Promise.all(results.slice(0, 5))).toEqual([0, 1, 2, 3, 4]);
  expect(order).toEqual([0, 1, 2, 3, 4]);
  expect(most).toBe(2);
  expect(limit.full).toBe(false);
  expect(limit.load).toEqual({ running: 0, waiting: 0 });
});

test("a task that fails frees its slot", async () => {
  const limit = new ConcurrencyLimit(1, 0);
  await expect(limit.run(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
  expect(await limit.run(async () => 7)).toBe(7);
});

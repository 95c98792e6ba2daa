/** The batching queue: no wait when idle, arrival order, batches gathered while one is in flight, lanes apart. */
import { expect, test } from "bun:test";
import { GroupCommit } from "./group-commit.ts";

function recorder(maxBatch: number) {
  const batches: string[][] = [];
  const gates: (() => void)[] = [];
  const queue = new GroupCommit<string>(async (batch) => {
    batches.push(batch);
    await new Promise<void>((r) => gates.push(r));
  }, maxBatch);
  const openNext = async () => {
    while (gates.length === 0) await Bun.sleep(1);
    gates.shift()!();
    await Bun.sleep(1);
  };
  return { batches, queue, openNext };
}

test("the first request runs at once; those arriving meanwhile go together next, in order, at most maxBatch", async () => {
  const { batches, queue, openNext } = recorder(3);
  queue.add("deal", "a");
  expect(batches).toEqual([["a"]]);
  for (const r of ["b", "c", "d", "e"]) queue.add("deal", r);
  await openNext();
  expect(batches).toEqual([["a"], ["b", "c", "d"]]);
  await openNext();
  expect(batches).toEqual([["a"], ["b", "c", "d"], ["e"]]);
  await openNext();
  queue.add("deal", "f");
  expect(batches.at(-1)).toEqual(["f"]);
  await openNext();
});

test("lanes of different rows do not wait for each other", async () => {
  const { batches, queue, openNext } = recorder(10);
  queue.add("one", "a");
  queue.add("two", "b");
  queue.add("one", "c");
  expect(batches).toEqual([["a"], ["b"]]);
  await openNext();
  expect(batches).toEqual([["a"], ["b"], ["c"]]);
  await openNext();
  await openNext();
});

test("once a batch holds its rows the next one starts, queued behind it; never more than two in flight", async () => {
  const batches: string[][] = [];
  const lock: (() => void)[] = [];
  const finish: (() => void)[] = [];
  const queue = new GroupCommit<string>(async (batch, locked) => {
    batches.push(batch);
    await new Promise<void>((r) => lock.push(r));
    locked();
    await new Promise<void>((r) => finish.push(r));
  }, 10);
  const tick = () => Bun.sleep(1);
  queue.add("deal", "a");
  queue.add("deal", "b");
  queue.add("deal", "c");
  // "a" has not got its rows yet: "b" and "c" wait.
  expect(batches).toEqual([["a"]]);
  lock.shift()!();
  await tick();
  expect(batches).toEqual([["a"], ["b", "c"]]);
  queue.add("deal", "d");
  // "b, c" is waiting for the rows "a" holds: "d" waits for it.
  expect(batches.length).toBe(2);
  finish.shift()!();
  await tick();
  expect(batches.length).toBe(2);
  lock.shift()!();
  await tick();
  expect(batches).toEqual([["a"], ["b", "c"], ["d"]]);
  lock.shift()!();
  await tick();
  finish.shift()!();
  finish.shift()!();
  await tick();
  queue.add("deal", "e");
  expect(batches.at(-1)).toEqual(["e"]);
});

test("a batch that fails before it holds its rows lets the next one go", async () => {
  const batches: string[][] = [];
  const done: (() => void)[] = [];
  const queue = new GroupCommit<string>(async (batch) => {
    batches.push(batch);
    await new Promise<void>((r) => done.push(r));
  }, 10);
  queue.add("deal", "a");
  queue.add("deal", "b");
  expect(batches).toEqual([["a"]]);
  done.shift()!();
  await Bun.sleep(1);
  expect(batches).toEqual([["a"], ["b"]]);
  done.shift()!();
});

/** The batching queue: no wait when idle, arrival order, batches gathered while one is in flight, one batch at a time. */
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
  queue.add("a");
  expect(batches).toEqual([["a"]]);
  for (const r of ["b", "c", "d", "e"]) queue.add(r);
  await openNext();
  expect(batches).toEqual([["a"], ["b", "c", "d"]]);
  await openNext();
  expect(batches).toEqual([["a"], ["b", "c", "d"], ["e"]]);
  await openNext();
  queue.add("f");
  expect(batches.at(-1)).toEqual(["f"]);
  await openNext();
});

test("nothing runs beside a batch in flight, and a queue that emptied starts at once again", async () => {
  const { batches, queue, openNext } = recorder(10);
  queue.add("a");
  queue.add("b");
  queue.add("c");
  expect(batches).toEqual([["a"]]);
  await openNext();
  expect(batches).toEqual([["a"], ["b", "c"]]);
  await openNext();
  queue.add("d");
  expect(batches).toEqual([["a"], ["b", "c"], ["d"]]);
  await openNext();
});

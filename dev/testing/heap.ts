import { heapStats } from "bun:jsc";

/** The JavaScript heap's size after a full collection: what is still held, for tests of a bound. */
export function heapAfterGc(): number {
  Bun.gc(true);
  return heapStats().heapSize;
}

/** A quick run never lands on the committed full-scale report. */
import { expect, test } from "bun:test";
import { join, resolve } from "node:path";
import { reportDir, RESULTS_DIR } from "./report-dir.ts";

test("full scale writes bench/results; quick its own folder; --out wins", () => {
  expect(RESULTS_DIR).toBe(resolve(import.meta.dir, "../results"));
  expect(reportDir("full")).toBe(RESULTS_DIR);
  expect(reportDir("quick")).toBe(join(RESULTS_DIR, "quick"));
  expect(reportDir("quick")).not.toBe(reportDir("full"));
  expect(reportDir("quick", "/tmp/elsewhere")).toBe("/tmp/elsewhere");
  expect(reportDir("full", "relative/dir")).toBe(resolve("relative/dir"));
});

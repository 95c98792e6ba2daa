import { expect, test } from "bun:test";
import { canSample, sample } from "./process-sampler.ts";

const self = { self: { pids: [process.pid], tree: false } };

test.skipIf(!canSample)("a sample reads CPU always and memory only when asked", () => {
  const withMemory = sample(self, 0);
  expect(withMemory.cpuSeconds.self).toBeGreaterThan(0);
  expect(withMemory.memoryMb.self).toBeGreaterThan(0);
  const cpuOnly = sample(self, 250, false);
  expect(cpuOnly.cpuSeconds.self).toBeGreaterThanOrEqual(withMemory.cpuSeconds.self!);
  expect(cpuOnly.memoryMb).toEqual({});
});

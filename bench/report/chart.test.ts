/** The chart: compared panels on one scale, labelled ticks, a legend naming each line's axis. */
import { expect, test } from "bun:test";
import { scalesFor, toSvg } from "./chart.ts";
import type { BenchReport } from "./report.ts";

const scenario = (name: string, rps: number, p99: number) =>
  ({
    name,
    duration_s: 3,
    rps,
    p95_ms: p99 / 2,
    p99_ms: p99,
    errors: 0,
    timeline: [0, 1000, 2000].map((at) => ({ at, requests: rps, errors: 0, p50_ms: p99 / 4, p99_ms: p99, max_ms: p99 })),
  }) as unknown as BenchReport["scenarios"][number];

const report = { scenarios: [scenario("arrival", 10_000, 30), scenario("max-gateway", 22_000, 9), scenario("max-direct", 36_000, 6), scenario("max-nginx", 17_000, 12)] } as BenchReport;

test("panels compared side by side share both scales; the others keep their own", () => {
  const scales = scalesFor(report.scenarios);
  const max = ["max-gateway", "max-direct", "max-nginx"].map((name) => scales.get(name)!);
  for (const s of max) expect({ rps: s.rpsMax, ms: s.msMax }).toEqual({ rps: max[0]!.rpsMax, ms: max[0]!.msMax });
  expect(max[0]!.rpsMax).toBeGreaterThanOrEqual(36_000);
  expect(max[0]!.msMax).toBeGreaterThanOrEqual(12);
  expect(scales.get("max-gateway")!.sharedWith).toEqual(["max-direct", "max-nginx"]);
  expect(scales.get("arrival")!.rpsMax).toBeLessThan(max[0]!.rpsMax);
  expect(scales.get("arrival")!.sharedWith).toEqual([]);
});

test("a higher figure is a higher line across compared panels, with ticks labelled on both axes", () => {
  const svg = toSvg(report);
  const lines = [...svg.matchAll(/<polyline[^>]*stroke="#2563eb"[^>]*points="([^"]+)"/g)].map((m) => Number(m[1]!.split(" ")[0]!.split(",")[1]));
  const panelTop = (k: number) => 30 + k * 210;
  // y within its own panel: smaller is higher.
  const [, gateway, direct, nginx] = lines.map((y, k) => y - panelTop(k));
  expect(direct!).toBeLessThan(gateway!);
  expect(gateway!).toBeLessThan(nginx!);
  expect(svg).toContain("req/s (left axis)");
  expect(svg).toContain("p50 latency (right axis, ms)");
  expect(svg).toContain("p99 latency (right axis, ms)");
  expect(svg).toContain("same scales as max-direct, max-nginx");
  // Every step of both y-axes has a label, not only the ends.
  expect(svg.match(/>20,000</g)?.length ?? 0).toBeGreaterThanOrEqual(3);
  expect(svg.match(/>10</g)?.length ?? 0).toBeGreaterThanOrEqual(3);
  expect(svg).toMatch(/>1 s</);
});

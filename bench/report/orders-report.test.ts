/**
 * The orders part of the report from known figures: the original's row beside ours, the
 * ratio to one transaction per order, refusals by reason, the stock check and every target
 * judged met or missed where the issue puts the line.
 */
import { describe, expect, test } from "bun:test";
import { orderTargets } from "../order-targets.ts";
import type { ScenarioResult } from "../run-scenario.ts";
import { ORIGINAL, ORIGINAL_ORDERS } from "../scenarios.ts";
import { toMarkdown } from "./markdown.ts";
import type { BenchReport } from "./report.ts";

const base = (name: string, over: Partial<ScenarioResult>): ScenarioResult => ({
  name,
  description: `${name} for the test`,
  target: "gateway",
  model: "open",
  duration_s: 20,
  hold_s: [0, 20],
  requests: 1000,
  rps: 10_000,
  rps_overall: 10_000,
  p50_ms: 1,
  p95_ms: 3,
  p99_ms: 5,
  max_ms: 9,
  mean_ms: 2,
  errors: 0,
  errors_by_status: {},
  late: 0,
  dropped: 0,
  cpu: { gateway: 50, order: 40, postgres: 30, loadgen: 45 },
  rss_mb: {},
  timeline: [],
  ...over,
});
const stock = { ok: true, lines: [], orders: 5000, units: 5000 };

describe("the orders report", () => {
  const spike = base("order-spike", { model: "closed", rps: 6000, p99_ms: 120, mean_ms: 60, orders: { confirmed: 200_000, confirmed_per_s: 6000, refused: {}, server_errors: 0, stock, unbatched: { confirmed_per_s: 1000, p99_ms: 900, errors: 0, ratio: 6 } } });
  const unbatched = base("order-spike-unbatched", { model: "closed", rps: 1000, p99_ms: 900, mean_ms: 450, orders: { confirmed: 40_000, confirmed_per_s: 1000, refused: {}, server_errors: 0, stock } });
  const sellOut = base("sell-out", {
    p99_ms: 60,
    orders: { confirmed: 5000, confirmed_per_s: 250, refused: { "400 DEAL_NOT_ACTIVE": 194_000, "400 INSUFFICIENT_STOCK": 1000 }, server_errors: 0, fairness_ms: 2.5, stock: { ...stock, ok: false } },
  });
  const sale = base("sale", { rps: 9800, dropped: 3, orders: { confirmed: 5000, confirmed_per_s: 250, refused: {}, server_errors: 0, stock } });

  test("judges each target where the issue puts it", () => {
    expect(orderTargets(spike, {}).map((v) => v.met)).toEqual([true, true, true, true]);
    expect(orderTargets({ ...spike, p99_ms: 181 }, {})[2]!.met).toBe(false);
    expect(orderTargets({ ...spike, orders: { ...spike.orders!, unbatched: { ...spike.orders!.unbatched!, ratio: 4.9 } } }, {})[3]!.met).toBe(false);
    expect(orderTargets(sellOut, { units: 5000 }).map((v) => [v.target, v.met])).toEqual([
      ["exactly 5,000 confirmed", true],
      ["p99 ≤ 50 ms", false],
      ["0 5xx", true],
      ["fairness window ≤ 10 ms", true],
    ]);
    expect(orderTargets(sellOut, { units: 4999 })[0]!.met).toBe(false);
    expect(orderTargets({ ...sellOut, orders: { ...sellOut.orders!, fairness_ms: null } }, { units: 5000 })[3]!.met).toBe(false);
    expect(orderTargets(sale, { offered: 10_000 }).map((v) => v.met)).toEqual([false, true, true]);
    expect(orderTargets(base("order-rate", { p99_ms: 50, orders: { confirmed: 1, confirmed_per_s: 1, refused: {}, server_errors: 0 } }), {}).map((v) => v.met)).toEqual([true, true]);
  });

  test("prints the original beside ours, the ratio, refusals, the stock check and the verdicts", () => {
    for (const s of [spike, sellOut, sale]) s.orders!.targets = orderTargets(s, { offered: 10_000, units: 5000 });
    const report: BenchReport = {
      generated_at: "2026-01-01T00:00:00.000Z",
      scale: "full",
      runs: 1,
      target: "test",
      machine: { cpus: 2, cpu_model: "test", os: "test", bun: "test" },
      loadgen_processes: 2,
      gateway_workers: 1,
      scenarios: [spike, unbatched, sellOut, sale],
      original: ORIGINAL,
      original_orders: ORIGINAL_ORDERS,
    };
    const md = toMarkdown(report);
    expect(md).toContain("## Orders");
    expect(md).toContain(`| ${ORIGINAL_ORDERS.stage} | 2,668 answered | – | 162 ms |`);
    expect(md).toContain("| **Bun: order-spike** (group commit) | **6,000** confirmed at hold |");
    expect(md).toContain("group commit / one transaction per order: **6.00**");
    expect(md).toContain("DEAL_NOT_ACTIVE: 194,000, INSUFFICIENT_STOCK: 1,000");
    expect(md).toContain("| 2.5 ms | **DOES NOT ADD UP** |");
    expect(md).toContain("adds up (5,000 units in 5,000 orders)");
    expect(md).toContain("| sell-out | p99 ≤ 50 ms | 60 ms | **missed** |");
    expect(md).toContain("| order-spike | ≥ 5× one transaction per order (ORDER_BATCHING=off) | 6.0× (6,000 vs 1,000/s) | met |");
    expect(md).toContain("| sale | 10,000 req/s held | 9,800 req/s, 3 dropped | **missed** |");
    expect(md).toContain("CPU order");
  });
});

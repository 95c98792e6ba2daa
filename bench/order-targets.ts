/**
 * The order path's targets on this 2-core machine, generator included (the order issue's), each
 * judged met or missed against a run's figures. A missed target is reported, not fatal: only
 * a stock check that does not add up fails the run.
 */
import type { ScenarioResult } from "./run-scenario.ts";
import type { Verdict } from "./verdict.ts";

const n = (v: number) => v.toLocaleString("en-US");
const verdict = (target: string, value: string, met: boolean): Verdict => ({ target, value, met });

/** `offered`: the open model's rate; `units`: what the sold-out deals held in total. */
export function orderTargets(s: ScenarioResult, o: { offered?: number; units?: number }): Verdict[] {
  const orders = s.orders;
  if (!orders) return [];
  const noErrors = verdict("0 errors", n(s.errors), s.errors === 0);
  switch (s.name) {
    case "order-spike":
      return [
        verdict("≥ 5,000 confirmed orders/s at hold (goal beyond: 10,000)", `${n(orders.confirmed_per_s)}/s`, orders.confirmed_per_s >= 5000),
        noErrors,
        // No order starves in the queue: the tail stays near the mean.
        verdict("p99 within 3× the mean", `p99 ${s.p99_ms} ms, mean ${s.mean_ms} ms (${(s.p99_ms / Math.max(0.001, s.mean_ms)).toFixed(1)}×)`, s.p99_ms <= 3 * s.mean_ms),
        orders.unbatched
          ? verdict("≥ 5× one transaction per order (ORDER_BATCHING=off)", `${orders.unbatched.ratio.toFixed(1)}× (${n(orders.confirmed_per_s)} vs ${n(orders.unbatched.confirmed_per_s)}/s)`, orders.unbatched.ratio >= 5)
          : verdict("≥ 5× one transaction per order (ORDER_BATCHING=off)", "not measured", false),
      ];
    case "order-rate":
      return [verdict("p99 ≤ 50 ms", `${s.p99_ms} ms`, s.p99_ms <= 50), noErrors];
    case "sell-out": {
      const fair = orders.fairness_ms;
      return [
        verdict(`exactly ${n(o.units ?? 0)} confirmed`, n(orders.confirmed), orders.confirmed === o.units),
        verdict("p99 ≤ 50 ms", `${s.p99_ms} ms`, s.p99_ms <= 50),
        verdict("0 5xx", n(orders.server_errors), orders.server_errors === 0),
        verdict("fairness window ≤ 10 ms", fair === null || fair === undefined ? "nothing refused" : `${fair} ms`, fair !== null && fair !== undefined && fair <= 10),
      ];
    }
    case "sale": {
      // Held: served at the offered rate (within 1 %, the schedule's rounding), none dropped.
      const offered = o.offered ?? 0;
      return [
        verdict(`${n(offered)} req/s held`, `${n(s.rps)} req/s, ${n(s.dropped ?? 0)} dropped`, s.rps >= offered * 0.99 && (s.dropped ?? 0) === 0),
        verdict("p99 ≤ 50 ms", `${s.p99_ms} ms`, s.p99_ms <= 50),
        noErrors,
      ];
    }
    default:
      return [];
  }
}

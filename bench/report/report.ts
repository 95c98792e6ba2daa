/** The report of one `bun bench` run, as written to latest.json. */
import { cpus, platform, release } from "node:os";
import type { ScenarioResult } from "../run-scenario.ts";
import { ORIGINAL, ORIGINAL_ORDERS, type Scale } from "../scenarios.ts";

export interface BenchReport {
  generated_at: string;
  scale: Scale;
  /** Each scenario's figures are the median of this many runs (errors: the worst run). */
  runs: number;
  target: string;
  machine: { cpus: number; cpu_model: string; os: string; bun: string };
  loadgen_processes: number;
  gateway_workers: number;
  scenarios: (ScenarioResult & { each_run?: Pick<ScenarioResult, "rps" | "p95_ms" | "p99_ms" | "errors">[] })[];
  original: typeof ORIGINAL;
  original_orders: typeof ORIGINAL_ORDERS;
}

export function machine(): BenchReport["machine"] {
  return { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? "unknown", os: `${platform()} ${release()}`, bun: Bun.version };
}

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : Math.round(((s[mid - 1]! + s[mid]!) / 2) * 1000) / 1000;
};

const medianOfRecords = (records: Record<string, number>[]) => {
  const keys = [...new Set(records.flatMap((r) => Object.keys(r)))];
  return Object.fromEntries(keys.map((k) => [k, median(records.map((r) => r[k] ?? 0))]));
};

/**
 * One scenario over several runs: the median of each figure, the worst run's errors, and the
 * timeline of the run whose throughput is the median.
 */
export function combineRuns(runs: ScenarioResult[]): BenchReport["scenarios"][number] {
  if (runs.length === 1) return runs[0]!;
  const byRps = [...runs].sort((a, b) => a.rps - b.rps);
  const middle = byRps[(byRps.length - 1) >> 1]!;
  const worst = runs.reduce((w, r) => (r.errors > w.errors ? r : w));
  const num = (pick: (r: ScenarioResult) => number) => median(runs.map(pick));
  return {
    ...middle,
    requests: num((r) => r.requests),
    rps: num((r) => r.rps),
    rps_overall: num((r) => r.rps_overall),
    p50_ms: num((r) => r.p50_ms),
    p95_ms: num((r) => r.p95_ms),
    p99_ms: num((r) => r.p99_ms),
    max_ms: num((r) => r.max_ms),
    mean_ms: num((r) => r.mean_ms),
    errors: worst.errors,
    errors_by_status: worst.errors_by_status,
    ...(middle.late !== undefined ? { late: Math.max(...runs.map((r) => r.late ?? 0)), dropped: Math.max(...runs.map((r) => r.dropped ?? 0)) } : {}),
    cpu: medianOfRecords(runs.map((r) => r.cpu)),
    rss_mb: medianOfRecords(runs.map((r) => r.rss_mb)),
    each_run: runs.map((r) => ({ rps: r.rps, p95_ms: r.p95_ms, p99_ms: r.p99_ms, errors: r.errors })),
  };
}

/**
 * Runs one scenario: the load from several generator processes, /proc samples of every part
 * of the system each second, and the summary the report prints.
 */
import { startLoad, type Interval } from "./loadgen/coordinator.ts";
import { holdWindow, profileDuration } from "./loadgen/profile.ts";
import { cpuPercent, sample, type ProcessGroup, type Sample } from "./process-sampler.ts";
import type { RequestSpec } from "./loadgen/request-mix.ts";
import type { Verdict } from "./verdict.ts";
import type { Progress } from "./progress.ts";
import type { Scenario } from "./scenarios.ts";
import type { StockCheck } from "./stock-check.ts";

export interface ScenarioResult {
  name: string;
  description: string;
  target: string;
  model: "closed" | "open";
  duration_s: number;
  /** The window rps and CPU are measured over: where the profile holds its peak. */
  hold_s: [number, number];
  requests: number;
  /** Requests per second completed during the hold. */
  rps: number;
  /** Requests per second over the whole run, ramps included (what k6 prints). */
  rps_overall: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  max_ms: number;
  mean_ms: number;
  errors: number;
  errors_by_status: Record<string, number>;
  /** Open model only: requests sent more than lateMs after they were due, or never sent. */
  late?: number;
  dropped?: number;
  /** Scenarios that overload the gateway: what was served (answers under 400) and what was shed (503), apart. */
  served?: { requests: number; rps: number; p50_ms: number; p99_ms: number };
  shed?: { requests: number; p50_ms: number; p99_ms: number; max_ms: number };
  /** Mean CPU % over the hold (100 = one core), per part; `loadgen` is the generator itself. */
  cpu: Record<string, number>;
  /** Peak proportional set size in MB, per part. */
  rss_mb: Record<string, number>;
  timeline: (Interval & { cpu: Record<string, number> })[];
  orders?: OrderFigures;
}

/** What an order scenario adds: orders placed and refused, fairness, the database's check. */
export interface OrderFigures {
  /** 201 answers: orders confirmed (and committed before the answer). */
  confirmed: number;
  /** 201 answers per second during the hold. */
  confirmed_per_s: number;
  /** The scenario's expected refusals, by status and code. */
  refused: Record<string, number>;
  /** 5xx answers (also among `errors`). */
  server_errors: number;
  /**
   * How much later the last confirmed order was sent than the first one refused as sold out,
   * in ms (0 or less: none was granted after a refusal); null when there were not both.
   */
  fairness_ms?: number | null;
  /** Filled in after the run: the database's units against its orders. */
  stock?: StockCheck;
  /** The same load on a stack with ORDER_BATCHING=off, and this run's ratio to it. */
  unbatched?: { confirmed_per_s: number; p99_ms: number; errors: number; ratio: number };
  /** The order path's targets, met or missed. */
  targets?: Verdict[];
}

export interface ScenarioRun {
  scenario: Scenario;
  /** An order scenario's requests, made for the deals seeded for this run. */
  requests?: RequestSpec[];
  /** The signing key of the stack under load, for per-user requests. */
  secret?: string;
  url: string;
  groups: Record<string, ProcessGroup>;
  loadgenProcesses: number;
  progress: Progress;
}

const ms = (us: number) => Math.round(us) / 1000;
const SAMPLE_EVERY_MS = 250;
/** Memory (PSS) on every fourth sample: once a second is enough for a peak. */
const MEMORY_EVERY = 4;

export async function runScenario({ scenario, requests, secret, url, groups, loadgenProcesses, progress }: ScenarioRun): Promise<ScenarioResult> {
  const { hostname, port } = new URL(url);
  const profile = scenario.closed?.users ?? scenario.open!.rate;
  const durationMs = profileDuration(profile);
  const hold = scenario.open || profile.stages.length > 1 ? holdWindow(profile) : { fromMs: 0, toMs: durationMs };
  progress.begin(scenario.name, durationMs);

  const load = startLoad(
    { hostname, port: Number(port), requests: requests ?? scenario.requests, secret, expected: scenario.orders?.refusals, closed: scenario.closed, open: scenario.open, timeoutMs: scenario.timeoutMs },
    loadgenProcesses,
    (i) => progress.interval(i),
  );
  const all = { ...groups, loadgen: { pids: [process.pid, ...load.pids], tree: false } };
  const startAt = await load.started;
  // Four samples a second from the load's start (each costs the coordinator CPU, so no more often),
  // so that windows and intervals have samples close to their edges.
  const samples: Sample[] = [];
  const take = () => samples.push(sample(all, Date.now() - startAt, samples.length % MEMORY_EVERY === 0));
  let every: ReturnType<typeof setInterval> | undefined;
  const first = setTimeout(() => {
    take();
    every = setInterval(take, SAMPLE_EVERY_MS);
  }, Math.max(0, startAt - Date.now()));
  let result;
  try {
    result = await load.result;
  } finally {
    clearTimeout(first);
    clearInterval(every);
  }
  const window = pickWindow(samples, hold.fromMs, hold.toMs);
  const h = result.histogram;
  const expected = new Set(scenario.orders?.refusals ?? []);
  // "timeout" and "connection" parse as NaN: errors too.
  const errorsByStatus = Object.fromEntries(Object.entries(result.outcomes).filter(([k]) => !(parseInt(k, 10) < 400) && !expected.has(k)));
  const holdSeconds = Math.max(1, Math.ceil((hold.toMs - hold.fromMs) / 1000));
  const inHold = result.timeline.filter((i) => i.at >= hold.fromMs && i.at < hold.toMs);
  const summary: ScenarioResult = {
    name: scenario.name,
    description: scenario.description,
    target: scenario.target,
    model: scenario.open ? "open" : "closed",
    duration_s: durationMs / 1000,
    hold_s: [hold.fromMs / 1000, hold.toMs / 1000],
    requests: result.requests,
    rps: Math.round(inHold.reduce((s, i) => s + i.requests, 0) / holdSeconds),
    rps_overall: Math.round(result.requests / (durationMs / 1000)),
    p50_ms: ms(h.getValueAtPercentile(50)),
    p95_ms: ms(h.getValueAtPercentile(95)),
    p99_ms: ms(h.getValueAtPercentile(99)),
    max_ms: ms(h.maxValue),
    mean_ms: ms(h.mean),
    errors: result.errors,
    errors_by_status: errorsByStatus,
    ...(scenario.open ? { late: result.late, dropped: result.dropped } : {}),
    ...(scenario.overload
      ? {
          served: {
            requests: result.served.totalCount,
            rps: Math.round(result.served.totalCount / (durationMs / 1000)),
            p50_ms: ms(result.served.getValueAtPercentile(50)),
            p99_ms: ms(result.served.getValueAtPercentile(99)),
          },
          shed: { requests: result.shed.totalCount, p50_ms: ms(result.shed.getValueAtPercentile(50)), p99_ms: ms(result.shed.getValueAtPercentile(99)), max_ms: ms(result.shed.maxValue) },
        }
      : {}),
    cpu: window ? cpuPercent(window[0], window[1]) : {},
    rss_mb: peakMemory(samples),
    timeline: result.timeline.map((i) => ({ ...i, cpu: cpuAround(samples, i.at) })),
  };
  if (scenario.orders) {
    const accepted = result.sent["201"];
    const firstRefused = Math.min(...scenario.orders.refusals.map((k) => result.sent[k]?.[0] ?? Infinity));
    summary.orders = {
      confirmed: result.outcomes["201"] ?? 0,
      confirmed_per_s: Math.round(inHold.reduce((s, i) => s + i.created, 0) / holdSeconds),
      refused: Object.fromEntries(Object.entries(result.outcomes).filter(([k]) => expected.has(k))),
      server_errors: Object.entries(result.outcomes).reduce((n, [k, v]) => (parseInt(k, 10) >= 500 ? n + v : n), 0),
      ...(scenario.orders.fairness ? { fairness_ms: accepted && firstRefused < Infinity ? Math.round((accepted[1] - firstRefused) * 100) / 100 : null } : {}),
    };
  }
  const orders = summary.orders ? `, ${summary.orders.confirmed.toLocaleString("en-US")} orders confirmed (${summary.orders.confirmed_per_s.toLocaleString("en-US")}/s at hold)` : "";
  progress.end(`${summary.rps.toLocaleString("en-US")} req/s at hold, p95 ${summary.p95_ms} ms, p99 ${summary.p99_ms} ms, errors ${summary.errors}${orders}`);
  return summary;
}

/**
 * The first sample at or after `from` and the last at or before `to` (a little slack). A busy
 * machine can delay the sampling timer past a short window; then the nearest samples around it.
 */
function pickWindow(samples: Sample[], from: number, to: number): [Sample, Sample] | null {
  const inside = samples.filter((s) => s.atMs >= from - 50 && s.atMs <= to + 50);
  if (inside.length >= 2) return [inside[0]!, inside[inside.length - 1]!];
  const before = samples.findLast((s) => s.atMs <= from) ?? samples[0];
  const after = samples.find((s) => s.atMs >= to) ?? samples.at(-1);
  return before && after && before !== after ? [before, after] : null;
}

function cpuAround(samples: Sample[], at: number): Record<string, number> {
  const window = pickWindow(samples, at, at + 1000);
  return window ? cpuPercent(window[0], window[1]) : {};
}

function peakMemory(samples: Sample[]): Record<string, number> {
  const peak: Record<string, number> = {};
  for (const s of samples) for (const [k, v] of Object.entries(s.memoryMb)) peak[k] = Math.max(peak[k] ?? 0, v);
  return peak;
}

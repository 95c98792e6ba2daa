/**
 * Runs one load across several generator processes and merges what they report: one
 * timeline of intervals and one histogram for the whole run, exact over all processes.
 */
import { resolve } from "node:path";
import type { Histogram } from "hdr-histogram-js";
import { linesOf } from "../../lib/lines.ts";
import { decodeHistogram, newHistogram } from "./recorder.ts";
import type { WorkerConfig, WorkerLine } from "./worker.ts";

export interface Interval {
  /** ms since the load started */
  at: number;
  requests: number;
  errors: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

export interface LoadResult {
  timeline: Interval[];
  histogram: Histogram;
  /** Answers under 400, and 503s (shed), apart. */
  served: Histogram;
  shed: Histogram;
  requests: number;
  errors: number;
  outcomes: Record<string, number>;
  scheduled: number;
  late: number;
  dropped: number;
}

export type LoadSpec = Omit<WorkerConfig, "startAt" | "intervalMs" | "closed" | "open"> & {
  closed?: Omit<NonNullable<WorkerConfig["closed"]>, "share">;
  open?: Omit<NonNullable<WorkerConfig["open"]>, "share">;
};

export interface RunningLoad {
  pids: number[];
  /** Wall-clock time (epoch ms) the processes start sending at. */
  startAt: number;
  result: Promise<LoadResult>;
}

const WORKER = resolve(import.meta.dir, "worker.ts");

/** A completed interval (all processes reported it) goes to `onInterval` as it arrives. */
export function startLoad(spec: LoadSpec, processes: number, onInterval: (i: Interval) => void = () => {}, intervalMs = 1000): RunningLoad {
  const startAt = Date.now() + 300 + 40 * processes;
  const pending = new Map<number, { histogram: Histogram; requests: number; errors: number; reports: number }>();
  const total: LoadResult = { timeline: [], histogram: newHistogram(), served: newHistogram(), shed: newHistogram(), requests: 0, errors: 0, outcomes: {}, scheduled: 0, late: 0, dropped: 0 };

  const take = (line: WorkerLine) => {
    if (line.type === "done") {
      total.scheduled += line.scheduled ?? 0;
      total.late += line.late ?? 0;
      total.dropped += line.dropped ?? 0;
      return;
    }
    const h = decodeHistogram(line.histogram);
    total.histogram.add(h);
    total.served.add(decodeHistogram(line.served));
    total.shed.add(decodeHistogram(line.shed));
    total.requests += line.requests;
    total.errors += line.errors;
    for (const [k, v] of Object.entries(line.outcomes)) total.outcomes[k] = (total.outcomes[k] ?? 0) + v;
    let slot = pending.get(line.at);
    if (!slot) pending.set(line.at, (slot = { histogram: newHistogram(), requests: 0, errors: 0, reports: 0 }));
    slot.histogram.add(h);
    slot.requests += line.requests;
    slot.errors += line.errors;
    if (++slot.reports === processes) {
      pending.delete(line.at);
      const interval = summarize(line.at, slot);
      total.timeline.push(interval);
      onInterval(interval);
    }
  };

  const children = Array.from({ length: processes }, (_, index) => {
    const share = { index, count: processes };
    const config: WorkerConfig = {
      ...spec,
      closed: spec.closed && { ...spec.closed, share },
      open: spec.open && { ...spec.open, share },
      startAt,
      intervalMs,
    };
    return Bun.spawn([process.execPath, WORKER], {
      env: { ...process.env, BENCH_LOADGEN: JSON.stringify(config) },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "inherit",
    });
  });

  const result = (async () => {
    await Promise.all(
      children.map(async (child) => {
        for await (const line of linesOf(child.stdout)) if (line) take(JSON.parse(line) as WorkerLine);
        const code = await child.exited;
        if (code !== 0) throw new Error(`a load generator process exited with code ${code}`);
      }),
    );
    // intervals some process never reported (it ended a little earlier) still count
    for (const [at, slot] of [...pending].sort((a, b) => a[0] - b[0])) total.timeline.push(summarize(at, slot));
    total.timeline.sort((a, b) => a.at - b.at);
    return total;
  })();
  return { pids: children.map((c) => c.pid), startAt, result };
}

function summarize(at: number, slot: { histogram: Histogram; requests: number; errors: number }): Interval {
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    at,
    requests: slot.requests,
    errors: slot.errors,
    p50_ms: ms(slot.histogram.getValueAtPercentile(50)),
    p99_ms: ms(slot.histogram.getValueAtPercentile(99)),
    max_ms: ms(slot.histogram.maxValue),
  };
}

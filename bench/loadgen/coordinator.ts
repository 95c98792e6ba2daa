/**
 * Runs one load across several generator processes and merges what they report: one
 * timeline of intervals and one histogram for the whole run, exact over all processes. The
 * clock starts when every process has its requests encoded.
 */
import { resolve } from "node:path";
import type { Histogram } from "hdr-histogram-js";
import { linesOf } from "../../lib/lines.ts";
import { decodeHistogram, newHistogram, type SentSpan } from "./recorder.ts";
import type { WorkerConfig, WorkerLine } from "./worker.ts";

export interface Interval {
  /** ms since the load started */
  at: number;
  requests: number;
  errors: number;
  /** 201 answers: orders placed. */
  created: number;
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
  /** Per outcome, when the first and the last request with it were sent (epoch ms). */
  sent: Record<string, SentSpan>;
  scheduled: number;
  late: number;
  dropped: number;
}

export type LoadSpec = Omit<WorkerConfig, "intervalMs" | "closed" | "open"> & {
  closed?: Omit<NonNullable<WorkerConfig["closed"]>, "share">;
  open?: Omit<NonNullable<WorkerConfig["open"]>, "share">;
};

export interface RunningLoad {
  pids: number[];
  /** Wall-clock time (epoch ms) the processes start sending at, once they are all ready. */
  started: Promise<number>;
  result: Promise<LoadResult>;
}

type Slot = { histogram: Histogram; requests: number; errors: number; created: number; reports: number };

const WORKER = resolve(import.meta.dir, "worker.ts");

/** A completed interval (all processes reported it) goes to `onInterval` as it arrives. */
export function startLoad(spec: LoadSpec, processes: number, onInterval: (i: Interval) => void = () => {}, intervalMs = 1000): RunningLoad {
  const pending = new Map<number, Slot>();
  const total: LoadResult = { timeline: [], histogram: newHistogram(), served: newHistogram(), shed: newHistogram(), requests: 0, errors: 0, outcomes: {}, sent: {}, scheduled: 0, late: 0, dropped: 0 };
  let ready = 0;
  let start!: (at: number) => void;
  let failed!: (e: Error) => void;
  const started = new Promise<number>((resolve, reject) => ((start = resolve), (failed = reject)));

  const take = (line: WorkerLine) => {
    if (line.type === "ready") {
      if (++ready === processes) {
        const startAt = Date.now() + 100 + 20 * processes;
        for (const child of children) {
          child.stdin.write(`${startAt}\n`);
          void child.stdin.end();
        }
        start(startAt);
      }
      return;
    }
    if (line.type === "done") {
      for (const [key, [first, last]] of Object.entries(line.sent)) {
        const span = total.sent[key];
        total.sent[key] = span ? [Math.min(span[0], first), Math.max(span[1], last)] : [first, last];
      }
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
    if (!slot) pending.set(line.at, (slot = { histogram: newHistogram(), requests: 0, errors: 0, created: 0, reports: 0 }));
    slot.histogram.add(h);
    slot.requests += line.requests;
    slot.errors += line.errors;
    slot.created += line.outcomes["201"] ?? 0;
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
      intervalMs,
    };
    return Bun.spawn([process.execPath, WORKER], {
      env: { ...process.env, BENCH_LOADGEN: JSON.stringify(config) },
      stdin: "pipe",
      stdout: "pipe",
      stderr: "inherit",
    });
  });

  const result = (async () => {
    try {
      await Promise.all(
        children.map(async (child) => {
          for await (const line of linesOf(child.stdout)) if (line) take(JSON.parse(line) as WorkerLine);
          const code = await child.exited;
          if (code !== 0) throw new Error(`a load generator process exited with code ${code}`);
        }),
      );
    } catch (e) {
      for (const child of children) child.kill();
      failed(e as Error);
      throw e;
    }
    // intervals some process never reported (it ended a little earlier) still count
    for (const [at, slot] of [...pending].sort((a, b) => a[0] - b[0])) total.timeline.push(summarize(at, slot));
    total.timeline.sort((a, b) => a.at - b.at);
    return total;
  })();
  // A failure before the start rejects both; a caller awaits one, then the other, and the one
  // it is not awaiting at that moment must not count as an unhandled rejection.
  started.catch(() => {});
  result.catch(() => {});
  return { pids: children.map((c) => c.pid), started, result };
}

function summarize(at: number, slot: Slot): Interval {
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    at,
    requests: slot.requests,
    errors: slot.errors,
    created: slot.created,
    p50_ms: ms(slot.histogram.getValueAtPercentile(50)),
    p99_ms: ms(slot.histogram.getValueAtPercentile(99)),
    max_ms: ms(slot.histogram.maxValue),
  };
}

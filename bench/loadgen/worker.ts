/**
 * One load generator process. The coordinator starts several (one core cannot drive the
 * target rates alone) with a JSON config in BENCH_LOADGEN; each reports one JSON line per
 * interval on stdout, then a last line with its totals.
 */
import { runClosedModel, type ClosedModel } from "./closed-model.ts";
import { runOpenModel, type OpenModel, type OpenModelResult } from "./open-model.ts";
import { Recorder } from "./recorder.ts";
import { requestMix, type RequestSpec } from "./request-mix.ts";

export interface WorkerConfig {
  hostname: string;
  port: number;
  requests: RequestSpec[];
  closed?: ClosedModel;
  open?: OpenModel;
  timeoutMs: number;
  intervalMs: number;
  /** Wall-clock start (epoch ms) shared by all processes, so their intervals line up. */
  startAt: number;
}

export type WorkerLine = ({ type: "interval" } & ReturnType<Recorder["take"]>) | ({ type: "done" } & Partial<OpenModelResult>);

const config = JSON.parse(process.env.BENCH_LOADGEN ?? "null") as WorkerConfig | null;
if (!config) {
  process.stderr.write("bench/loadgen/worker.ts is started by the bench coordinator with BENCH_LOADGEN set\n");
  process.exit(2);
}

const emit = (line: WorkerLine) => process.stdout.write(JSON.stringify(line) + "\n");
const recorder = new Recorder();
const target = { hostname: config.hostname, port: config.port, mix: requestMix(config.requests, `${config.hostname}:${config.port}`), recorder, timeoutMs: config.timeoutMs };

await Bun.sleep(Math.max(0, config.startAt - Date.now()));
const startedAt = performance.now();
let interval = 0;
const reporter = setInterval(() => emit({ type: "interval", ...recorder.take(interval++ * config.intervalMs) }), config.intervalMs);

let totals: Partial<OpenModelResult> = {};
if (config.closed) await runClosedModel(target, config.closed, startedAt);
else if (config.open) totals = await runOpenModel(target, config.open, startedAt);
clearInterval(reporter);
emit({ type: "interval", ...recorder.take(interval * config.intervalMs) });
emit({ type: "done", ...totals });
process.exit(0);

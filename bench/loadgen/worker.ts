/**
 * One load generator process. The coordinator starts several (one core cannot drive the
 * target rates alone) with a JSON config in BENCH_LOADGEN. Each encodes its requests (per-user
 * ones for every user it will need: that can take a second, so it is done before the clock
 * starts), says it is ready, reads the shared start time from stdin, then reports one JSON line
 * per interval on stdout and a last line with its totals.
 */
import { linesOf } from "../../lib/lines.ts";
import { runClosedModel, type ClosedModel } from "./closed-model.ts";
import { runOpenModel, scheduledCount, type OpenModel, type OpenModelResult } from "./open-model.ts";
import { shareOf } from "./profile.ts";
import { Recorder, type SentSpan } from "./recorder.ts";
import { requestMix, type RequestSpec, type Users } from "./request-mix.ts";

export interface WorkerConfig {
  hostname: string;
  port: number;
  requests: RequestSpec[];
  /** The signing key per-user requests mint their tokens with. */
  secret?: string;
  /** Outcome keys ("400 INSUFFICIENT_STOCK") that are expected answers, not errors. */
  expected?: string[];
  closed?: ClosedModel;
  open?: OpenModel;
  timeoutMs: number;
  intervalMs: number;
}

export type WorkerLine =
  | { type: "ready" }
  | ({ type: "interval" } & ReturnType<Recorder["take"]>)
  | ({ type: "done"; sent: Record<string, SentSpan> } & Partial<OpenModelResult>);

const config = JSON.parse(process.env.BENCH_LOADGEN ?? "null") as WorkerConfig | null;
if (!config) {
  process.stderr.write("bench/loadgen/worker.ts is started by the bench coordinator with BENCH_LOADGEN set\n");
  process.exit(2);
}

function usersOf(c: WorkerConfig): Users | undefined {
  if (!c.requests.some((r) => r.perUser)) return undefined;
  if (!c.secret) throw new Error("per-user requests need the stack's signing key");
  if (c.closed) {
    const peak = Math.max(c.closed.users.start, ...c.closed.users.stages.map((s) => s.target));
    return { secret: c.secret, per: "vu", count: shareOf(Math.ceil(peak), c.closed.share.index, c.closed.share.count) };
  }
  return { secret: c.secret, per: "request", count: scheduledCount(c.open!) };
}

const emit = (line: WorkerLine) => process.stdout.write(JSON.stringify(line) + "\n");
const recorder = new Recorder(new Set(config.expected ?? []));
const target = { hostname: config.hostname, port: config.port, mix: requestMix(config.requests, `${config.hostname}:${config.port}`, usersOf(config)), recorder, timeoutMs: config.timeoutMs };

emit({ type: "ready" });
let startAt = NaN;
for await (const line of linesOf(Bun.stdin.stream())) {
  startAt = Number(line);
  break;
}
if (!Number.isFinite(startAt)) {
  process.stderr.write("bench/loadgen/worker.ts: no start time on stdin\n");
  process.exit(2);
}

await Bun.sleep(Math.max(0, startAt - Date.now()));
const startedAt = performance.now();
let interval = 0;
const reporter = setInterval(() => emit({ type: "interval", ...recorder.take(interval++ * config.intervalMs) }), config.intervalMs);

let totals: Partial<OpenModelResult> = {};
if (config.closed) await runClosedModel(target, config.closed, startedAt);
else if (config.open) totals = await runOpenModel(target, config.open, startedAt);
clearInterval(reporter);
emit({ type: "interval", ...recorder.take(interval * config.intervalMs) });
emit({ type: "done", sent: recorder.sentSpans(), ...totals });
process.exit(0);

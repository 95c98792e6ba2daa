/**
 * A whole `bun bench` run: targets up, data seeded, every scenario run (several times for
 * medians), the report printed and written to latest.json, latest.md and latest.svg.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RunningStack } from "../lib/stack/stack.ts";
import { canSample } from "./process-sampler.ts";
import { Progress } from "./progress.ts";
import { toSvg } from "./report/chart.ts";
import { toMarkdown } from "./report/markdown.ts";
import { combineRuns, machine, type BenchReport } from "./report/report.ts";
import { runScenario, type ScenarioResult } from "./run-scenario.ts";
import { ORIGINAL, overloadRate, scenarios, type Scale, type Scenario } from "./scenarios.ts";
import { seed } from "./seed.ts";
import { prepareTargets } from "./targets.ts";

export interface BenchOptions {
  scale: Scale;
  runs: number;
  /** Directory for latest.json, latest.md and latest.svg. */
  out: string;
  url?: string;
  productUrl?: string;
  stack?: RunningStack;
  mode: "binary" | "source";
  loadgenProcesses: number;
  gatewayWorkers?: number;
  nginx: boolean;
  /** The own stack's services reach PostgreSQL through PgBouncer in transaction mode. */
  pgbouncer?: boolean;
  /** Only these scenarios (by name). */
  only?: string[];
  progress: boolean;
}

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const progress = new Progress(o.progress);
  if (!canSample) progress.note("no /proc here: CPU and memory are not reported");
  const targets = await prepareTargets({ ...o, note: (t) => progress.note(t) });
  try {
    progress.note("seeding users, products and 20 live deals ...");
    const seeded = await seed(targets.urls.gateway!);
    const list = scenarios(o.scale, seeded, Boolean(targets.urls.nginx)).filter((s) => (!o.only || o.only.includes(s.name)) && targets.urls[s.target]);
    const results = new Map<string, ScenarioResult[]>(list.map((s) => [s.name, []]));
    for (let round = 1; round <= o.runs; round++) {
      if (o.runs > 1) progress.note(`run ${round} of ${o.runs}`);
      for (const listed of list) {
        const scenario = scaledToMax(listed, results.get("max-gateway"), o.scale);
        const result = await runScenario({ scenario, url: targets.urls[scenario.target]!, groups: canSample ? targets.groups() : {}, loadgenProcesses: o.loadgenProcesses, progress });
        results.get(scenario.name)!.push(result);
      }
    }
    const report: BenchReport = {
      generated_at: new Date().toISOString(),
      scale: o.scale,
      runs: o.runs,
      target: o.url ? o.url : `own stack (${o.mode === "binary" ? "compiled executables" : "sources"}) on an embedded PostgreSQL${o.pgbouncer ? ", through PgBouncer (transaction mode)" : ""}`,
      machine: machine(),
      loadgen_processes: o.loadgenProcesses,
      gateway_workers: o.gatewayWorkers ?? 1,
      scenarios: list.map((s) => combineRuns(results.get(s.name)!)),
      original: ORIGINAL,
    };
    mkdirSync(o.out, { recursive: true });
    writeFileSync(join(o.out, "latest.json"), JSON.stringify(report, null, 2) + "\n");
    writeFileSync(join(o.out, "latest.md"), toMarkdown(report));
    writeFileSync(join(o.out, "latest.svg"), toSvg(report));
    return report;
  } finally {
    await targets.stop();
  }
}

/** An overload scenario offered at its multiple of this run's latest `max-gateway` rate, when there is one. */
function scaledToMax(s: Scenario, maxRuns: ScenarioResult[] | undefined, scale: Scale): Scenario {
  const measured = maxRuns?.at(-1)?.rps;
  if (s.overload === undefined || !s.open || !measured) return s;
  return { ...s, open: { ...s.open, rate: overloadRate(scale, Math.round(s.overload * measured)) } };
}

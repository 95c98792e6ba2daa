/**
 * A whole `bun bench` run: targets up, data seeded, every scenario run (several times for
 * medians), the report printed and written to latest.json, latest.md and latest.svg. An order
 * scenario gets fresh deals for each run and, after it, the database's stock check; one that
 * does not add up fails the run once the report is written.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RunningStack } from "../dev/stack/stack.ts";
import { seedDeals } from "./order-seed.ts";
import { orderTargets } from "./order-targets.ts";
import { canSample } from "./process-sampler.ts";
import { Progress } from "./progress.ts";
import { toSvg } from "./report/chart.ts";
import { toMarkdown } from "./report/markdown.ts";
import { combineRuns, machine, type BenchReport } from "./report/report.ts";
import { runScenario, type ScenarioResult } from "./run-scenario.ts";
import { ORDER_SCENARIO_NAMES, ORIGINAL, ORIGINAL_ORDERS, overloadRate, SCENARIO_NAMES, scenarios, type Scale, type Scenario } from "./scenarios.ts";
import { seed } from "./seed.ts";
import { describeMismatch, checkStock } from "./stock-check.ts";
import { prepareTargets, type Targets } from "./targets.ts";
import { mintAccessToken } from "../dev/testing/tokens.ts";

export interface BenchOptions {
  scale: Scale;
  runs: number;
  /** Directory for latest.json, latest.md and latest.svg. */
  out: string;
  url?: string;
  productUrl?: string;
  stack?: RunningStack;
  /** With `url` or `stack`: that system's signing key (order scenarios mint tokens with it). */
  jwtSecret?: string;
  /** With `url`: that system's database, for the stock check after order scenarios. */
  databaseUrl?: string;
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

const UNBATCHED = "-unbatched";

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const progress = new Progress(o.progress);
  if (!canSample) progress.note("no /proc here: CPU and memory are not reported");
  const targets = await prepareTargets({ ...o, databaseUrl: o.databaseUrl ?? o.stack?.databaseUrl, note: (t) => progress.note(t) });
  // Stopped from outside (Ctrl-C, a CI timeout): the stacks it started, their databases and
  // nginx stop with it instead of outliving it.
  const interrupted = (signal: NodeJS.Signals) => {
    progress.note(`${signal}: stopping what the bench started`);
    void targets.stop().catch(() => {}).finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  try {
    // Registering users costs auth a password hash each: not worth it for order scenarios alone.
    const catalog = SCENARIO_NAMES.some((name) => !ORDER_SCENARIO_NAMES.includes(name) && (!o.only || o.only.includes(name)));
    if (catalog) progress.note("seeding users, products and 20 live deals ...");
    const seeded = catalog ? await seed(targets.urls.gateway!) : { tokens: [], productIds: [], logins: [] };
    const list = scenarios(o.scale, seeded, Boolean(targets.urls.nginx)).filter((s) => (!o.only || o.only.includes(s.name)) && targets.urls[s.target]);
    const runnable = list.filter((s) => {
      if (!s.orders || targets.jwtSecret) return true;
      progress.note(`${s.name} is skipped: it needs the signing key of the system (--jwt-secret) to make its users' tokens`);
      return false;
    });
    const results = new Map<string, ScenarioResult[]>();
    const mismatches: string[] = [];
    const record = (r: ScenarioResult) => {
      results.set(r.name, [...(results.get(r.name) ?? []), r]);
      const stock = r.orders?.stock;
      if (stock && !stock.ok) mismatches.push(`${r.name}: ${describeMismatch(stock)}`);
    };
    for (let round = 1; round <= o.runs; round++) {
      if (o.runs > 1) progress.note(`run ${round} of ${o.runs}`);
      for (const listed of runnable) {
        const scenario = scaledToMax(listed, results.get("max-gateway"), o.scale);
        if (!scenario.orders) {
          record(await runScenario({ scenario, url: targets.urls[scenario.target]!, groups: canSample ? targets.groups() : {}, loadgenProcesses: o.loadgenProcesses, progress }));
          continue;
        }
        record(await runOrderScenario(scenario, targets, o, progress));
        const unbatched = scenario.orders.unbatched ? targets.unbatched() : null;
        if (scenario.orders.unbatched && !unbatched) progress.note(`${scenario.name}: no second stack to run with ORDER_BATCHING=off when driving --url; the ratio is not measured`);
        if (unbatched) {
          const twin: Scenario = { ...scenario, name: scenario.name + UNBATCHED, description: `${scenario.name} on a stack with ORDER_BATCHING=off: one transaction per order`, orders: { ...scenario.orders, unbatched: false } };
          record(await runOrderScenario(twin, await unbatched, o, progress));
        }
      }
    }
    const combined = [...results.values()].map(combineRuns);
    for (const s of combined) {
      const twin = combined.find((t) => t.name === s.name + UNBATCHED);
      if (s.orders && twin?.orders) {
        s.orders.unbatched = { confirmed_per_s: twin.orders.confirmed_per_s, p99_ms: twin.p99_ms, errors: twin.errors, ratio: Math.round((s.orders.confirmed_per_s / Math.max(1, twin.orders.confirmed_per_s)) * 100) / 100 };
      }
      const scenario = list.find((l) => l.name === s.name);
      if (s.orders && scenario?.orders) {
        s.orders.targets = orderTargets(s, { offered: scenario.open?.rate.start, units: scenario.orders.deals.reduce((n, d) => n + d.stock, 0) });
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
      scenarios: combined,
      original: ORIGINAL,
      original_orders: ORIGINAL_ORDERS,
    };
    mkdirSync(o.out, { recursive: true });
    writeFileSync(join(o.out, "latest.json"), JSON.stringify(report, null, 2) + "\n");
    writeFileSync(join(o.out, "latest.md"), toMarkdown(report));
    writeFileSync(join(o.out, "latest.svg"), toSvg(report));
    if (mismatches.length) throw new Error(`the stock does not add up after an order scenario (report written to ${o.out}):\n  ${mismatches.join("\n  ")}`);
    return report;
  } finally {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    await targets.stop();
  }
}

/** Fresh deals, the load on them, then the database's stock check. */
async function runOrderScenario(scenario: Scenario, targets: Targets, o: BenchOptions, progress: Progress): Promise<ScenarioResult> {
  const setup = scenario.orders!;
  const url = targets.urls.gateway!;
  // Staff create the deals; any verified subject may, so the seeding token is minted too.
  const staff = mintAccessToken(targets.jwtSecret!, crypto.randomUUID(), 600);
  const deals = await seedDeals(url, staff, setup.deals, `${scenario.name} ${Date.now().toString(36)}`);
  const result = await runScenario({ scenario, requests: setup.requests(deals), secret: targets.jwtSecret, url, groups: canSample ? targets.groups() : {}, loadgenProcesses: o.loadgenProcesses, progress });
  if (!targets.databaseUrl) {
    progress.note(`${scenario.name}: the database is unknown (--database-url), so the stock was not checked`);
    return result;
  }
  const stock = await checkStock(targets.databaseUrl, deals);
  result.orders!.stock = stock;
  const units = stock.lines.filter((l) => l.kind === "deal").reduce((n, l) => n + l.taken, 0);
  progress.note(`${scenario.name}: stock check ${stock.ok ? "adds up" : "DOES NOT ADD UP"}: ${units.toLocaleString("en-US")} units taken, ${stock.units.toLocaleString("en-US")} in ${stock.orders.toLocaleString("en-US")} orders`);
  return result;
}

/** An overload scenario offered at its multiple of this run's latest `max-gateway` rate, when there is one. */
function scaledToMax(s: Scenario, maxRuns: ScenarioResult[] | undefined, scale: Scale): Scenario {
  const measured = maxRuns?.at(-1)?.rps;
  if (s.overload === undefined || !s.open || !measured) return s;
  return { ...s, open: { ...s.open, rate: overloadRate(scale, Math.round(s.overload * measured)) } };
}

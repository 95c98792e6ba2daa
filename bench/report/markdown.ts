/** The report as Markdown tables: printed at the end of a run and saved as latest.md. */
import { ORIGINAL_SOURCE } from "../scenarios.ts";
import type { BenchReport } from "./report.ts";

const n = (v: number | undefined) => (v === undefined ? "–" : v.toLocaleString("en-US"));
const pct = (v: number | undefined) => (v === undefined ? "–" : `${Math.round(v)} %`);
const row = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
const PARTS = ["gateway", "auth", "product", "order", "postgres", "pgbouncer", "nginx", "loadgen"];

export function toMarkdown(r: BenchReport): string {
  const out: string[] = [];
  const find = (name: string) => r.scenarios.find((s) => s.name === name);
  out.push(`# bun bench: ${r.scale} scale, ${r.runs > 1 ? `median of ${r.runs} runs` : "one run"}`);
  out.push("");
  out.push(`${r.generated_at} · ${r.machine.cpus} × ${r.machine.cpu_model} · ${r.machine.os} · Bun ${r.machine.bun} · target: ${r.target} · ${r.loadgen_processes} load generator processes · ${r.gateway_workers} gateway process(es)`);

  const spikes = ["spike", "spike-deals"].map(find).filter((s) => s !== undefined);
  if (spikes.length) {
    out.push("", "## The published spike, beside the original system", "");
    out.push(`The original (Python) system's figures come from ${ORIGINAL_SOURCE}; ours are measured here.`, "");
    out.push("Throughput here is over the whole run, ramps included, as the original's was; `at hold` is the 100-user plateau.", "");
    out.push(row(["stage", "throughput", "p95", "mean", "errors", "gateway CPU"]));
    out.push(row(["---", "---", "---", "---", "---", "---"]));
    for (const o of r.original) out.push(row([`original: ${o.stage}`, `${n(o.rps)} req/s`, `${n(o.p95_ms)} ms`, `${n(o.mean_ms)} ms`, `${o.errors_pct} %`, pct(o.gateway_cpu)]));
    for (const s of spikes) {
      const errorPct = s.requests ? Math.round((s.errors / s.requests) * 10000) / 100 : 0;
      out.push(row([`**Bun: ${s.name}** (${n(s.rps)} req/s at hold)`, `**${n(s.rps_overall)} req/s**`, `**${s.p95_ms} ms**`, `${s.mean_ms} ms`, `${errorPct} %`, pct(s.cpu.gateway)]));
    }
  }

  out.push("", "## Every scenario", "");
  out.push("req/s and CPU are over the hold (the peak plateau); latencies over the whole run. CPU: 100 % = one core.", "");
  const parts = PARTS.filter((p) => r.scenarios.some((s) => s.cpu[p] !== undefined));
  out.push(row(["scenario", "req/s", "p50", "p95", "p99", "max", "mean", "errors", "late / dropped", ...parts.map((p) => `CPU ${p}`)]));
  out.push(row(Array(9 + parts.length).fill("---")));
  for (const s of r.scenarios) {
    const errors = s.errors ? `${n(s.errors)} (${Object.entries(s.errors_by_status).map(([k, v]) => `${k}: ${v}`).join(", ")})` : "0";
    out.push(row([s.name, n(s.rps), `${s.p50_ms} ms`, `${s.p95_ms} ms`, `${s.p99_ms} ms`, `${s.max_ms} ms`, `${s.mean_ms} ms`, errors, s.late === undefined ? "–" : `${n(s.late)} / ${n(s.dropped)}`, ...parts.map((p) => pct(s.cpu[p]))]));
  }

  const memParts = PARTS.filter((p) => r.scenarios.some((s) => s.rss_mb[p] !== undefined));
  if (memParts.length) {
    out.push("", "Peak memory (PSS, MB):", "");
    out.push(row(["scenario", ...memParts]));
    out.push(row(Array(1 + memParts.length).fill("---")));
    for (const s of r.scenarios) out.push(row([s.name, ...memParts.map((p) => n(s.rss_mb[p]))]));
  }

  const gateway = find("max-gateway");
  const ratios = (["max-direct", "max-nginx"] as const).map(find).filter((s) => s !== undefined);
  if (gateway && ratios.length) {
    out.push("", "## max: side by side in this run", "");
    const ratio = (a: number, b: number) => (a / Math.max(1, b)).toFixed(2);
    for (const s of ratios) {
      // Each run's own ratio too: both sides measured minutes apart on the same machine.
      const perRun = gateway.each_run && s.each_run ? `; run by run: ${gateway.each_run.map((g, i) => ratio(g.rps, s.each_run![i]?.rps ?? 0)).join(", ")}` : "";
      out.push(`- gateway (token verified) / ${s.name.replace("max-", "")}: **${ratio(gateway.rps, s.rps)}** (${n(gateway.rps)} vs ${n(s.rps)} req/s${perRun})`);
    }
  }
  const storm = find("login-storm");
  if (storm) {
    const shed = countOfStatus(storm.errors_by_status, "503");
    const logins = Math.round((storm.requests - storm.errors) / storm.duration_s);
    out.push("", "## login storm", "");
    out.push(`- **${n(logins)} logins/s** (200s over the run); of all answers p50 ${storm.p50_ms} ms, p99 ${storm.p99_ms} ms; 503 (shed): ${n(shed)}; other errors: ${n(storm.errors - shed)}`);
  }
  const overload = find("overload");
  if (overload?.served && overload.shed) {
    const offered = overload.requests + (overload.dropped ?? 0);
    out.push("", "## overload: served and shed", "");
    out.push(`Offered ${n(offered)} requests (open model at 3× max-gateway; ${n(overload.late)} sent over 10 ms late, ${n(overload.dropped)} never sent by the generator).`, "");
    out.push(row(["", "requests", "rate over the run", "p50", "p99", "max"]));
    out.push(row(["---", "---", "---", "---", "---", "---"]));
    out.push(row(["served (answers under 400)", n(overload.served.requests), `${n(overload.served.rps)} req/s`, `${overload.served.p50_ms} ms`, `${overload.served.p99_ms} ms`, "–"]));
    out.push(row(["shed (503 UNAVAILABLE, Retry-After)", n(overload.shed.requests), "–", `${overload.shed.p50_ms} ms`, `${overload.shed.p99_ms} ms`, `${overload.shed.max_ms} ms`]));
    const other = Object.entries(overload.errors_by_status).filter(([k]) => statusOf(k) !== "503");
    out.push("", `Other errors: ${other.length ? other.map(([k, v]) => `${k}: ${n(v)}`).join(", ") : "none"}.`);
  }
  out.push(...ordersSection(r));
  out.push("", "## Scenarios", "");
  for (const s of r.scenarios) out.push(`- **${s.name}**: ${s.description}`);
  return out.join("\n") + "\n";
}

/** The order scenarios: beside the original's order test, their own figures, the targets. */
function ordersSection(r: BenchReport): string[] {
  const list = r.scenarios.filter((s) => s.orders);
  if (!list.length) return [];
  const out = ["", "## Orders", ""];
  const o = r.original_orders;
  const spike = list.filter((s) => s.name.startsWith("order-spike"));
  if (spike.length) {
    out.push("The original's order test (500 VUs, no think time, POST /orders) beside ours; ours counts only orders confirmed, each committed before its answer.", "");
    out.push(row(["stage", "orders/s", "p50", "p95", "p99", "mean", "errors"]));
    out.push(row(Array(7).fill("---")));
    out.push(row([o.stage, `${n(o.rps)} answered`, "–", `${n(o.p95_ms)} ms`, "–", "–", "–"]));
    for (const s of spike) {
      const label = s.name.endsWith("-unbatched") ? "Bun: order-spike, ORDER_BATCHING=off (one transaction per order)" : "**Bun: order-spike** (group commit)";
      out.push(row([label, `**${n(s.orders!.confirmed_per_s)}** confirmed at hold`, `${s.p50_ms} ms`, `**${s.p95_ms} ms**`, `${s.p99_ms} ms`, `${s.mean_ms} ms`, n(s.errors)]));
    }
    const ratio = spike.find((s) => s.orders!.unbatched)?.orders!.unbatched?.ratio;
    if (ratio !== undefined) out.push("", `- group commit / one transaction per order: **${ratio.toFixed(2)}**`);
    out.push("");
  }
  const parts = PARTS.filter((p) => list.some((s) => s.cpu[p] !== undefined));
  out.push(row(["scenario", "confirmed", "confirmed/s at hold", "refused (by reason)", "p50", "p99", "errors", "fairness", "stock check", ...parts.map((p) => `CPU ${p}`)]));
  out.push(row(Array(9 + parts.length).fill("---")));
  for (const s of list) {
    const f = s.orders!;
    const refused = Object.entries(f.refused).map(([k, v]) => `${k.replace(/^\d+ /, "")}: ${n(v)}`).join(", ") || "0";
    const errors = s.errors ? `${n(s.errors)} (${Object.entries(s.errors_by_status).map(([k, v]) => `${k}: ${v}`).join(", ")})` : "0";
    const fairness = f.fairness_ms === undefined ? "–" : f.fairness_ms === null ? "nothing refused" : `${f.fairness_ms} ms`;
    const stock = !f.stock ? "not checked" : f.stock.ok ? `adds up (${n(f.stock.units)} units in ${n(f.stock.orders)} orders)` : "**DOES NOT ADD UP**";
    out.push(row([s.name, n(f.confirmed), n(f.confirmed_per_s), refused, `${s.p50_ms} ms`, `${s.p99_ms} ms`, errors, fairness, stock, ...parts.map((p) => pct(s.cpu[p]))]));
  }
  const judged = list.filter((s) => s.orders!.targets?.length);
  if (judged.length) {
    out.push("", "Targets (on 2 cores shared by everything, the generator included):", "");
    out.push(row(["scenario", "target", "measured", "verdict"]));
    out.push(row(Array(4).fill("---")));
    for (const s of judged) for (const t of s.orders!.targets!) out.push(row([s.name, t.target, t.value, t.met ? "met" : "**missed**"]));
  }
  return out;
}

/** An outcome key is its status, with the answer's error code after a space when it named one. */
const statusOf = (key: string) => key.split(" ", 1)[0]!;

const countOfStatus = (outcomes: Record<string, number>, status: string) =>
  Object.entries(outcomes).reduce((sum, [k, v]) => (statusOf(k) === status ? sum + v : sum), 0);

/**
 * Throughput and latency over time, one panel per scenario, as a self-contained SVG. Panels
 * that are read side by side (the max runs through the gateway, straight to product and
 * through nginx; the two spikes) share both y-scales, so a higher line is a higher figure.
 */
import type { BenchReport } from "./report.ts";

const W = 760;
const H = 210;
const PAD = { left: 70, right: 64, top: 40, bottom: 30 };
const COLORS = { rps: "#2563eb", p50: "#16a34a", p99: "#dc2626", errors: "#f59e0b", grid: "#e5e7eb", text: "#555" };
/** At most this many steps up each y-axis (each one a grid line and a label on both sides). */
const Y_STEPS = 4;

/** Scenarios whose panels are compared with each other, and so share their scales. */
const SHARED_SCALES = [
  ["max-gateway", "max-direct", "max-nginx"],
  ["spike", "spike-deals"],
];

type Scenario = BenchReport["scenarios"][number];

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const fmt = (v: number) => v.toLocaleString("en-US", { maximumFractionDigits: 2 });

/** A round step (1, 2, 2.5 or 5 times a power of ten) at or above `v`. */
function niceStep(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 2.5, 5, 10].find((m) => m * p >= v) ?? 10) * p;
}

/** An axis from 0 to a multiple of a round step, in at most Y_STEPS steps, reaching `v`. */
function axis(v: number): { max: number; step: number } {
  const step = niceStep(Math.max(v, 1) / Y_STEPS);
  return { step, max: step * Math.max(1, Math.ceil(Math.max(v, 1) / step)) };
}

/** A tick step for `span` seconds that gives 4 to 10 ticks. */
const timeStep = (span: number) => [1, 2, 5, 10, 15, 20, 30, 60, 120, 300].find((s) => span / s <= 10) ?? 600;

// The interval after the end holds only the last answers: plotted, it would look like a drop.
const plotted = (s: Scenario) => s.timeline.filter((i) => i.at < s.duration_s * 1000);

interface Scales {
  rpsMax: number;
  msMax: number;
  /** Both axes have this many steps, so each grid line has a round label on either side. */
  steps: number;
  /** The other panels on the same scales, for the panel's caption. */
  sharedWith: string[];
}

export function scalesFor(scenarios: Scenario[]): Map<string, Scales> {
  const own = (s: Scenario) => ({ rps: Math.max(1, ...plotted(s).map((i) => i.requests)), ms: Math.max(1, ...plotted(s).map((i) => i.p99_ms)) });
  const scales = new Map<string, Scales>();
  for (const s of scenarios) {
    const group = SHARED_SCALES.find((g) => g.includes(s.name))?.filter((name) => scenarios.some((o) => o.name === name)) ?? [s.name];
    const members = scenarios.filter((o) => group.includes(o.name)).map(own);
    const rps = axis(Math.max(...members.map((m) => m.rps)));
    const ms = axis(Math.max(...members.map((m) => m.ms)));
    const steps = Math.max(Math.round(rps.max / rps.step), Math.round(ms.max / ms.step));
    scales.set(s.name, {
      rpsMax: rps.step * steps,
      msMax: ms.step * steps,
      steps,
      sharedWith: group.filter((name) => name !== s.name),
    });
  }
  return scales;
}

function panel(s: Scenario, scales: Scales, y0: number): string {
  const t = plotted(s);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const top = y0 + PAD.top;
  const bottom = top + plotH;
  const tMax = Math.max(1, s.duration_s, ...t.map((i) => i.at / 1000 + 1));
  const { rpsMax, msMax, steps } = scales;
  const x = (seconds: number) => PAD.left + (seconds / tMax) * plotW;
  const yR = (v: number) => bottom - (v / rpsMax) * plotH;
  const yL = (v: number) => bottom - (v / msMax) * plotH;
  // Each interval's figure is plotted at its middle.
  const line = (pick: (i: (typeof t)[number]) => number, y: (v: number) => number, color: string) =>
    t.length ? `<polyline fill="none" stroke="${color}" stroke-width="1.8" points="${t.map((i) => `${x(i.at / 1000 + 0.5).toFixed(1)},${y(pick(i)).toFixed(1)}`).join(" ")}"/>` : "";
  const errors = t.filter((i) => i.errors > 0).map((i) => `<circle cx="${x(i.at / 1000 + 0.5).toFixed(1)}" cy="${bottom.toFixed(1)}" r="3" fill="${COLORS.errors}"><title>${i.errors} errors</title></circle>`);
  const out: string[] = [
    `<text x="${PAD.left}" y="${y0 + 16}" font-weight="bold">${esc(s.name)}</text>`,
    `<text x="${PAD.left + 110}" y="${y0 + 16}" fill="${COLORS.text}">${fmt(s.rps)} req/s at hold · p95 ${fmt(s.p95_ms)} ms · p99 ${fmt(s.p99_ms)} ms · errors ${s.errors}</text>`,
  ];
  if (scales.sharedWith.length) out.push(`<text x="${W - PAD.right - 4}" y="${top - 6}" text-anchor="end" fill="${COLORS.text}" font-style="italic">same scales as ${esc(scales.sharedWith.join(", "))}</text>`);
  for (let k = 0; k <= steps; k++) {
    const y = bottom - (k / steps) * plotH;
    if (k > 0 && k < steps) out.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="${COLORS.grid}"/>`);
    out.push(`<text x="${PAD.left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" fill="${COLORS.rps}">${fmt((rpsMax * k) / steps)}</text>`);
    out.push(`<text x="${W - PAD.right + 6}" y="${(y + 4).toFixed(1)}" fill="${COLORS.p99}">${fmt((msMax * k) / steps)}</text>`);
  }
  // The units on the title's line, clear of the top tick labels.
  out.push(`<text x="${PAD.left - 6}" y="${y0 + 16}" text-anchor="end" fill="${COLORS.rps}">req/s</text>`);
  out.push(`<text x="${W - PAD.right + 6}" y="${y0 + 16}" fill="${COLORS.p99}">ms</text>`);
  const step = timeStep(tMax);
  for (let sec = 0; sec <= tMax + 1e-9; sec += step) {
    out.push(`<line x1="${x(sec).toFixed(1)}" x2="${x(sec).toFixed(1)}" y1="${bottom}" y2="${bottom + 4}" stroke="#999"/>`);
    out.push(`<text x="${x(sec).toFixed(1)}" y="${bottom + 16}" text-anchor="middle" fill="${COLORS.text}">${sec} s</text>`);
  }
  out.push(
    `<rect x="${PAD.left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#bbb"/>`,
    line((i) => i.requests, yR, COLORS.rps),
    line((i) => i.p50_ms, yL, COLORS.p50),
    line((i) => i.p99_ms, yL, COLORS.p99),
    ...errors,
  );
  return out.join("\n");
}

export function toSvg(r: BenchReport): string {
  const items = [
    { color: COLORS.rps, label: "req/s (left axis)" },
    { color: COLORS.p50, label: "p50 latency (right axis, ms)" },
    { color: COLORS.p99, label: "p99 latency (right axis, ms)" },
  ];
  // One element per item, each placed: renderers do not agree on where a run of tspans goes.
  const legend = items
    .map((item, k) => {
      const x0 = PAD.left + k * 200;
      return `<line x1="${x0}" x2="${x0 + 18}" y1="16" y2="16" stroke="${item.color}" stroke-width="2.5"/><text x="${x0 + 24}" y="20" fill="${item.color}">${item.label}</text>`;
    })
    .concat(`<circle cx="${PAD.left + 609}" cy="16" r="3" fill="${COLORS.errors}"/><text x="${PAD.left + 616}" y="20" fill="${COLORS.errors}">errors</text>`)
    .join("\n");
  const height = 30 + r.scenarios.length * H;
  const scales = scalesFor(r.scenarios);
  const panels = r.scenarios.map((s, i) => panel(s, scales.get(s.name)!, 30 + i * H));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="system-ui, sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
${legend}
${panels.join("\n")}
</svg>
`;
}

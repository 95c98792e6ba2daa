/** Throughput and latency over time, one panel per scenario, as a self-contained SVG. */
import type { BenchReport } from "./report.ts";

const W = 760;
const H = 200;
const PAD = { left: 64, right: 64, top: 28, bottom: 28 };
const COLORS = { rps: "#2563eb", p50: "#16a34a", p99: "#dc2626", errors: "#f59e0b" };

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A round number at or above `v`, so axes end on 1, 2 or 5 times a power of ten. */
function niceCeil(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 5, 10].find((m) => m * p >= v) ?? 10) * p;
}

function panel(s: BenchReport["scenarios"][number], y0: number): string {
  // The interval after the end holds only the last answers: plotted, it would look like a drop.
  const t = s.timeline.filter((i) => i.at < s.duration_s * 1000);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const tMax = Math.max(1, s.duration_s, ...t.map((i) => i.at / 1000 + 1));
  const rpsMax = niceCeil(Math.max(...t.map((i) => i.requests), 1));
  const msMax = niceCeil(Math.max(...t.map((i) => i.p99_ms), 1));
  const x = (at: number) => PAD.left + ((at / 1000 + 0.5) / tMax) * plotW;
  const yR = (v: number) => y0 + PAD.top + plotH - (v / rpsMax) * plotH;
  const yL = (v: number) => y0 + PAD.top + plotH - (v / msMax) * plotH;
  const line = (pick: (i: (typeof t)[number]) => number, y: (v: number) => number, color: string) =>
    t.length ? `<polyline fill="none" stroke="${color}" stroke-width="1.8" points="${t.map((i) => `${x(i.at).toFixed(1)},${y(pick(i)).toFixed(1)}`).join(" ")}"/>` : "";
  const errors = t.filter((i) => i.errors > 0).map((i) => `<circle cx="${x(i.at).toFixed(1)}" cy="${(y0 + PAD.top + plotH).toFixed(1)}" r="3" fill="${COLORS.errors}"><title>${i.errors} errors</title></circle>`);
  const bottom = y0 + PAD.top + plotH;
  return [
    `<text x="${PAD.left}" y="${y0 + 18}" font-weight="bold">${esc(s.name)}</text>`,
    `<text x="${PAD.left + 110}" y="${y0 + 18}" fill="#555">${s.rps.toLocaleString("en-US")} req/s at hold · p95 ${s.p95_ms} ms · p99 ${s.p99_ms} ms · errors ${s.errors}</text>`,
    `<rect x="${PAD.left}" y="${y0 + PAD.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#ccc"/>`,
    `<text x="${PAD.left - 6}" y="${y0 + PAD.top + 4}" text-anchor="end" fill="${COLORS.rps}">${rpsMax.toLocaleString("en-US")}</text>`,
    `<text x="${PAD.left - 6}" y="${bottom}" text-anchor="end" fill="${COLORS.rps}">0 req/s</text>`,
    `<text x="${W - PAD.right + 6}" y="${y0 + PAD.top + 4}" fill="${COLORS.p99}">${msMax} ms</text>`,
    `<text x="${W - PAD.right + 6}" y="${bottom}" fill="${COLORS.p99}">0 ms</text>`,
    `<text x="${W - PAD.right}" y="${bottom + 16}" text-anchor="end" fill="#555">${Math.round(tMax)} s</text>`,
    `<text x="${PAD.left}" y="${bottom + 16}" fill="#555">0 s</text>`,
    line((i) => i.requests, yR, COLORS.rps),
    line((i) => i.p50_ms, yL, COLORS.p50),
    line((i) => i.p99_ms, yL, COLORS.p99),
    ...errors,
  ].join("\n");
}

export function toSvg(r: BenchReport): string {
  const legend = `<text x="${PAD.left}" y="20"><tspan fill="${COLORS.rps}">— req/s (left axis)</tspan>   <tspan fill="${COLORS.p50}">— p50 latency</tspan>   <tspan fill="${COLORS.p99}">— p99 latency (right axis)</tspan>   <tspan fill="${COLORS.errors}">● errors</tspan></text>`;
  const height = 30 + r.scenarios.length * H;
  const panels = r.scenarios.map((s, i) => panel(s, 30 + i * H));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="system-ui, sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
${legend}
${panels.join("\n")}
</svg>
`;
}

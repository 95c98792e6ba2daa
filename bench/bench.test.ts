/**
 * `bun bench` end to end at a tiny scale against the test stack: every scenario runs, and the
 * report holds what the README and CI read from it.
 */
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testStack } from "../lib/testing/test-stack.ts";
import { runBench } from "./run.ts";
import { useEndToEndTimeouts } from "../lib/testing/timeouts.ts";

useEndToEndTimeouts();

test("a tiny run of every scenario writes a complete report", async () => {
  const stack = await testStack();
  const out = mkdtempSync(join(tmpdir(), "bench-test-"));
  try {
    const report = await runBench({ scale: "tiny", runs: 1, out, stack, mode: "source", loadgenProcesses: 2, nginx: false, progress: false });

    expect(JSON.parse(readFileSync(join(out, "latest.json"), "utf8"))).toEqual(JSON.parse(JSON.stringify(report)));
    expect(report.scenarios.map((s) => s.name)).toEqual(["spike", "spike-deals", "arrival", "max-gateway", "max-db-read", "max-direct", "login-storm", "overload"]);
    for (const s of report.scenarios) {
      // A login storm and an overload may be shed (503 at once, by design); nothing else may fail.
      const { "503": shed, ...errors } = s.name === "login-storm" || s.name === "overload" ? s.errors_by_status : { "503": 0, ...s.errors_by_status };
      expect({ name: s.name, errors: s.errors - (shed ?? 0), errors_by_status: errors }).toEqual({ name: s.name, errors: 0, errors_by_status: {} });
      expect(s.requests).toBeGreaterThan(10);
      expect(s.rps).toBeGreaterThan(0);
      expect(s.timeline.reduce((sum, i) => sum + i.requests, 0)).toBe(s.requests);
      expect(0 < s.p50_ms && s.p50_ms <= s.p95_ms && s.p95_ms <= s.p99_ms && s.p99_ms <= s.max_ms).toBe(true);
      expect(s.mean_ms).toBeGreaterThan(0);
      for (const part of ["gateway", "auth", "product", "postgres", "loadgen"]) {
        expect({ name: s.name, part, cpu: typeof s.cpu[part] }).toEqual({ name: s.name, part, cpu: "number" });
        expect(s.rss_mb[part]).toBeGreaterThan(0);
      }
      expect(s.cpu.loadgen).toBeGreaterThan(0);
    }
    const byName = Object.fromEntries(report.scenarios.map((s) => [s.name, s]));
    expect(byName["max-gateway"]!.cpu.gateway).toBeGreaterThan(5);
    expect(byName["max-direct"]!.cpu.product).toBeGreaterThan(5);
    expect(byName["arrival"]!.model).toBe("open");
    expect(typeof byName["arrival"]!.late).toBe("number");
    expect(byName["arrival"]!.dropped).toBe(0);
    expect(byName["login-storm"]!.requests).toBeGreaterThan(byName["login-storm"]!.errors);
    const overload = byName["overload"]!;
    expect(overload.served!.requests + overload.shed!.requests).toBe(overload.requests);
    expect(overload.served!.rps).toBeGreaterThan(0);
    expect(overload.served!.p99_ms).toBeGreaterThan(0);

    const md = readFileSync(join(out, "latest.md"), "utf8");
    expect(md).toContain("Kong (nginx based, declarative, DB-less) | 982 req/s");
    // Where those figures come from, named in the report itself (a clone has no MISSION.md).
    expect(md).toContain("deal-traffic-spike write-up");
    expect(md).not.toContain("MISSION.md");
    expect(md).toContain("**Bun: spike**");
    expect(md).toMatch(/gateway \(token verified\) \/ direct: \*\*\d+\.\d\d\*\*/);
    expect(md).toMatch(/\*\*[\d,]+ logins\/s\*\*/);
    expect(md).toContain("## overload: served and shed");
    expect(md).toContain("| shed (503 UNAVAILABLE, Retry-After) |");
    const svg = readFileSync(join(out, "latest.svg"), "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<polyline/g)?.length).toBe(3 * report.scenarios.length);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 60_000);

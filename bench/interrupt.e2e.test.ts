/**
 * `bun bench` stopped from outside (Ctrl-C, a CI job's timeout) takes down what it started:
 * its stack's services and its embedded PostgreSQL, whose data directory goes with it.
 */
import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { useEndToEndTimeouts } from "../dev/testing/timeouts.ts";

useEndToEndTimeouts();

const ROOT = resolve(import.meta.dir, "..");

/** Processes whose command line names `needle`. */
function processesNaming(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmdline.includes(needle)) found.push(`${pid}: ${cmdline}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

test.each(["SIGTERM", "SIGINT"] as const)("%s while a scenario runs: exit, and nothing it started is left", async (signal) => {
  const out = mkdtempSync(join(tmpdir(), "bench-interrupt-"));
  const bench = Bun.spawn([process.execPath, "bench/main.ts", "--quick", "--source", "--no-nginx", "--only", "max-direct", "--out", out], {
    cwd: ROOT,
    stdout: "ignore",
    stderr: "pipe",
  });
  try {
    const dataDir = join(ROOT, ".data", `bench-${bench.pid}`);
    let output = "";
    // Progress goes to stderr: "max-direct   started: ..." once the stack is up and the load runs.
    const reader = bench.stderr.getReader();
    while (!output.includes("started:")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the bench ended before its scenario started:\n${output}`);
      output += new TextDecoder().decode(value);
    }
    expect(processesNaming(dataDir).length).toBeGreaterThan(0);
    bench.kill(signal);
    expect(await bench.exited).toBe(signal === "SIGINT" ? 130 : 143);
    // The database's processes may take a moment after pg_ctl returns.
    for (let i = 0; i < 50 && processesNaming(dataDir).length > 0; i++) await Bun.sleep(100);
    expect(processesNaming(dataDir)).toEqual([]);
    expect(existsSync(dataDir)).toBe(false);
  } finally {
    bench.kill("SIGKILL");
    rmSync(out, { recursive: true, force: true });
  }
}, 120_000);

/**
 * `bun start` as a newcomer runs it: on its own data directory and ports here, so it runs
 * beside the suite's stack. What it prints, and what it does when it cannot start.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { rmSync } from "node:fs";
import { resolve } from "node:path";
import { useEndToEndTimeouts } from "../testing/timeouts.ts";
import { freePort } from "./free-port.ts";
import { waitHealthy } from "./stack.ts";

useEndToEndTimeouts();

const ROOT = resolve(import.meta.dir, "../..");
const dataDir = resolve(ROOT, ".data", `start-test-${process.pid}`);
const env = {
  STACK_DATA_DIR: dataDir,
  STACK_DATABASE_PORT: String(freePort()),
  GATEWAY_PORT: String(freePort()),
  AUTH_PORT: String(freePort()),
  PRODUCT_PORT: String(freePort()),
  ORDER_PORT: String(freePort()),
  LOG_LEVEL: "warn",
};
const started: Subprocess[] = [];

function bunStart(extra: Record<string, string> = {}) {
  const { DATABASE_URL: _, ...inherited } = process.env;
  const child = Bun.spawn([process.execPath, "dev/stack/start.ts"], { cwd: ROOT, env: { ...inherited, ...env, ...extra }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  started.push(child);
  let stdout = "";
  let stderr = "";
  const collect = async (stream: ReadableStream<Uint8Array>, into: (s: string) => void) => {
    for await (const chunk of stream) into(new TextDecoder().decode(chunk));
  };
  const done = Promise.all([collect(child.stdout, (s) => (stdout += s)), collect(child.stderr, (s) => (stderr += s))]);
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

/** Its exit code, or "still running" after `ms`. */
const exitWithin = (child: Subprocess, ms: number) => Promise.race([child.exited, Bun.sleep(ms).then(() => "still running" as const)]);

afterAll(async () => {
  for (const child of started) child.kill("SIGTERM");
  await Promise.all(started.map((c) => c.exited));
  rmSync(dataDir, { recursive: true, force: true });
});

describe("bun start", () => {
  test("a fresh start prints no initdb chatter; a second start says one stack is running, where, and exits 1", async () => {
    const first = bunStart();
    const deadline = Date.now() + 60_000;
    while (!first.stdout().includes("hot-deal stack is up") && first.child.exitCode === null && Date.now() < deadline) await Bun.sleep(100);
    expect(first.stdout()).toContain("hot-deal stack is up");
    expect(first.stdout()).not.toMatch(/You can now start the database server|pg_ctl|initdb|Success\./);

    const second = bunStart();
    expect(await exitWithin(second.child, 20_000)).toBe(1);
    await second.done;
    const line = second.stderr().trim();
    expect(line.split("\n")).toHaveLength(1);
    expect(line).toContain("a stack is already running");
    expect(line).toContain(dataDir);
    expect(line).toContain(`port ${env.STACK_DATABASE_PORT}`);
    expect(line).toContain(`started by pid ${first.child.pid}`);
    expect(second.stdout()).not.toMatch(/lock file|TypeError/);

    first.child.kill("SIGTERM");
    expect(await exitWithin(first.child, 20_000)).toBe(0);
  }, 90_000);

  test("a port held by a program that never answers: one line naming the port, exit 1, no hang", async () => {
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const run = bunStart({ GATEWAY_PORT: String(silent.port), STACK_DATA_DIR: `${dataDir}-silent` });
      expect(await exitWithin(run.child, 30_000)).toBe(1);
      await run.done;
      expect(run.stderr().trim()).toBe(
        `bun start: port ${silent.port} (GATEWAY_PORT) is already in use: another stack, or another program (\`ss -ltnp 'sport = :${silent.port}'\` shows which); stop it or set GATEWAY_PORT`,
      );
    } finally {
      silent.stop(true);
      rmSync(`${dataDir}-silent`, { recursive: true, force: true });
    }
  }, 40_000);
});

describe("waiting for a service to be healthy", () => {
  test("gives up after its timeout when the port accepts and never answers", async () => {
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const alive = Bun.spawn([process.execPath, "-e", "setInterval(() => {}, 1000)"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    try {
      const began = Date.now();
      const outcome = await waitHealthy(`http://127.0.0.1:${silent.port}`, alive, 2500).then(() => "healthy", (e: Error) => e.message);
      expect(outcome).toMatch(/was not healthy within 2500 ms \(last try: no answer within 1000 ms\)/);
      expect(Date.now() - began).toBeLessThan(4000);
    } finally {
      alive.kill();
      silent.stop(true);
    }
  }, 10_000);
});

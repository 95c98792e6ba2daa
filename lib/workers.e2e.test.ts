/**
 * GATEWAY_WORKERS / PRODUCT_WORKERS: the first process starts the others on the same port and
 * takes them down with it. Runs on the sources and on the executables, which start their
 * copies differently (the script again, or the executable itself).
 */
import { expect, test } from "bun:test";
import { startService } from "../dev/testing/service-process.ts";
import { useEndToEndTimeouts } from "../dev/testing/timeouts.ts";

useEndToEndTimeouts();

const readyLines = (output: string) =>
  output
    .split("\n")
    .filter((l) => l.includes('"msg":"ready"'))
    .map((l) => JSON.parse(l) as { worker: string; pid: number });

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test("GATEWAY_WORKERS=2: two processes serve the port, and SIGTERM stops both", async () => {
  const gateway = await startService("gateway", { GATEWAY_WORKERS: "2", LOG_LEVEL: "info" });
  try {
    const deadline = Date.now() + 15_000;
    while (readyLines(gateway.output()).length < 2 && Date.now() < deadline) await Bun.sleep(50);
    const ready = readyLines(gateway.output());
    expect(ready.map((r) => r.worker).sort()).toEqual(["0", "1"]);
    const worker = ready.find((r) => r.worker === "1")!.pid;
    expect(worker).not.toBe(gateway.process.pid);
    expect(alive(worker)).toBe(true);
    // Fresh connections are spread over both; every one is answered.
    const statuses = await Promise.all(Array.from({ length: 20 }, () => fetch(`${gateway.url}/health`, { keepalive: false }).then((r) => r.status)));
    expect(statuses).toEqual(Array(20).fill(200));
    await gateway.stop();
    expect(gateway.process.exitCode).toBe(0);
    const gone = Date.now() + 5000;
    while (alive(worker) && Date.now() < gone) await Bun.sleep(50);
    expect(alive(worker)).toBe(false);
  } finally {
    gateway.process.kill("SIGKILL");
  }
}, 30_000);

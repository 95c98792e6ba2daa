/**
 * Several processes of one service on one port (`reusePort`), so a service can use every
 * core. The first process starts the others as copies of itself and stops them when it
 * stops; the kernel spreads connections over all of them.
 */
import type { Subprocess } from "bun";
import type { Logger } from "./log.ts";

const WORKER_MARK = "HOT_DEAL_WORKER";

export const isWorkerProcess = () => process.env[WORKER_MARK] === "1";

export function startExtraWorkers(total: number, log: Logger): Subprocess[] {
  if (isWorkerProcess() || total <= 1) return [];
  // A compiled executable re-runs itself (its entry point lives in Bun's embedded file
  // system); a source run re-runs bun on the same script.
  const command = Bun.main.startsWith("/$bunfs/") ? [process.execPath] : [process.execPath, Bun.main];
  const children: Subprocess[] = [];
  for (let i = 1; i < total; i++) {
    children.push(
      Bun.spawn(command, {
        env: { ...process.env, [WORKER_MARK]: "1", WORKER_INDEX: String(i) },
        stdin: "ignore",
        stdout: "inherit",
        stderr: "inherit",
        onExit(_proc, code, signal) {
          if (code !== 0) log.warn("worker exited", { worker: i, code, signal });
        },
      }),
    );
  }
  return children;
}

export async function stopWorkers(children: Subprocess[]): Promise<void> {
  for (const c of children) c.kill("SIGTERM");
  await Promise.all(children.map((c) => c.exited));
}

/**
 * Idempotency-Keys are kept 24 hours (the contract's window); after that a placement may
 * reclaim one, and this sweep deletes the rest so the table holds about a day of keys. Every
 * instance sweeps: deleting rows another instance already deleted costs nothing, and a
 * placement reclaiming an old key while it is being deleted is ordered by the row's lock.
 */
import { isDatabaseUnavailable } from "../lib/database-unavailable.ts";
import { describeError, type Logger } from "../lib/log.ts";
import type { OrderStore } from "./order-store.ts";

/** Sweeps `everyMs` after the last sweep ended, until stopped; a failure is logged and tried again next time. */
export function startKeySweep(store: OrderStore, log: Logger, everyMs: number): { stop(): Promise<void> } {
  let stopped = false;
  let running: Promise<void> | null = null;
  let timer: Timer;
  const sweep = async () => {
    try {
      const deleted = await store.deleteExpiredKeys();
      if (deleted > 0) log.info("expired idempotency keys deleted", { deleted });
    } catch (e) {
      const fields = describeError(e);
      if (isDatabaseUnavailable(e)) log.warn("idempotency key sweep skipped: database unavailable", fields);
      else log.error("idempotency key sweep failed", fields);
    }
    running = null;
    if (!stopped) schedule();
  };
  const schedule = () => {
    timer = setTimeout(() => (running = sweep()), everyMs);
    timer.unref();
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

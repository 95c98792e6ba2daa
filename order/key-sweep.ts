/**
 * Idempotency-Keys are kept 24 hours (the contract's window); after that a placement may
 * reclaim one, and this sweep deletes the rest so the table holds about a day of keys. Every
 * instance sweeps: deleting rows another instance already deleted costs nothing, and a
 * placement reclaiming an old key while it is being deleted is ordered by the row's lock.
 * Deletes go in chunks so no statement holds many row locks or a long transaction.
 */
import type { Sql } from "../lib/db.ts";
import { isDatabaseUnavailable } from "../lib/database-unavailable.ts";
import { describeError, type Logger } from "../lib/log.ts";

const CHUNK = 5_000;

/** Deletes every key older than 24 hours; resolves to how many. */
export async function sweepExpiredKeys(sql: Sql): Promise<number> {
  let deleted = 0;
  for (;;) {
    const { count } = await sql`
      delete from orders.idempotency_keys where ctid = any(array(
        select ctid from orders.idempotency_keys where created_at < now() - interval '24 hours' limit ${CHUNK}))`;
    deleted += count;
    if (count < CHUNK) return deleted;
  }
}

/** Sweeps `everyMs` after the last sweep ended, until stopped; a failure is logged and tried again next time. */
export function startKeySweep(sql: Sql, log: Logger, everyMs: number): { stop(): Promise<void> } {
  let stopped = false;
  let running: Promise<void> | null = null;
  let timer: Timer;
  const sweep = async () => {
    try {
      const deleted = await sweepExpiredKeys(sql);
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

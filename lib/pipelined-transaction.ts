/** A transaction in two round trips: BEGIN with the first reads, COMMIT right behind the writes. */
import type postgres from "postgres";
import type { Sql } from "./db.ts";

/** What a pipelined transaction's work gives back: its result, and the writes it has issued but not awaited. */
export interface PipelinedWork<T> {
  value: T;
  writes: Promise<unknown>[];
}

/**
 * One transaction on a connection of its own, whose BEGIN goes out with the first statements
 * and whose COMMIT goes out right behind the writes: two round trips fewer than `sql.begin`,
 * which waits for each. `work` reads (awaiting what it must decide on) and returns its writes
 * unawaited. A statement PostgreSQL refuses turns the COMMIT into a rollback; one that fails in
 * the client, before it was sent, closes the connection (the patched postgres.js does that
 * inside a reservation), so the COMMIT behind it is never sent and PostgreSQL rolls back. Either
 * way the failure is thrown. Resolves only once PostgreSQL has said COMMIT.
 */
export async function pipelinedTransaction<T>(sql: Sql, work: (tx: postgres.ReservedSql) => Promise<PipelinedWork<T>>): Promise<T> {
  const tx = await sql.reserve();
  const begun = tx`begin`;
  begun.catch(() => {});
  try {
    const { value, writes } = await work(tx);
    const committed = tx`commit`;
    const settled = await Promise.allSettled([begun, ...writes, committed]);
    const failed = settled.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
    const { command } = await committed;
    if (command !== "COMMIT") throw new Error(`the transaction ended in ${command}, not COMMIT`);
    return value;
  } catch (e) {
    // Ends the transaction if it is still open; on a closed connection it fails at once.
    await tx`rollback`.catch(() => {});
    throw e;
  } finally {
    tx.release();
  }
}

/**
 * The two-round-trip transaction on a real PostgreSQL: its writes commit together, and a
 * statement that fails, in PostgreSQL or before it left the client, leaves none of them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { startEmbeddedDatabase, type EmbeddedDatabase } from "../dev/embedded-db.ts";
import { freePort } from "../dev/stack/free-port.ts";
import { useEndToEndTimeouts } from "../dev/testing/timeouts.ts";
import { connectDatabase, type Sql } from "./db.ts";
import { pipelinedTransaction } from "./pipelined-transaction.ts";

useEndToEndTimeouts();

let db: EmbeddedDatabase;
let sql: Sql;

beforeAll(async () => {
  db = await startEmbeddedDatabase({ dir: resolve(import.meta.dir, "../.data", `pipelined-${process.pid}`), port: freePort(), ephemeral: true });
  // One connection: every transaction here runs on the same one, so a second run of a
  // statement is a prepared one and a transaction left open would show in the next.
  sql = connectDatabase({ url: db.url, poolSize: 1, applicationName: "pipelined-test" });
  await sql`create table rows (batch text not null, n int4 not null check (n >= 0))`;
}, 30_000);

afterAll(async () => {
  await sql?.end({ timeout: 5 });
  await db?.close();
}, 30_000);

const rowsOf = async (batch: string) => (await sql`select n from rows where batch = ${batch} order by n`).map((r) => r.n as number);

/** Reads once, then writes `values` one statement each, unawaited. */
const writeAll = (batch: string, values: unknown[]) =>
  pipelinedTransaction(sql, async (tx) => {
    const [before] = await tx`select count(*)::int as n from rows where batch = ${batch}`;
    return { value: before!.n as number, writes: values.map((v) => tx`insert into rows (batch, n) values (${batch}, ${v as number})`) };
  });

describe("pipelinedTransaction", () => {
  test("commits its writes together, and its result is what the work returned", async () => {
    expect(await writeAll("ok", [1, 2, 3])).toBe(0);
    expect(await rowsOf("ok")).toEqual([1, 2, 3]);
  });

  test("a write PostgreSQL refuses leaves none of the batch's writes", async () => {
    await expect(writeAll("refused", [1, -1, 3])).rejects.toThrow(/check constraint/);
    expect(await rowsOf("refused")).toEqual([]);
  });

  // A Symbol cannot be serialized: the write fails in postgres.js, before it is sent, and the
  // COMMIT pipelined behind it must not commit the writes before it. Twice: the first time the
  // statement is described first, the second time it is already prepared on the connection.
  for (const run of ["first", "second"]) {
    test(`a write that fails in the client leaves none of the batch's writes (${run} run of the statement)`, async () => {
      await expect(writeAll(`client-${run}`, [1, Symbol("not a number"), 3])).rejects.toThrow();
      expect(await rowsOf(`client-${run}`)).toEqual([]);
    });
  }

  test("after those failures the connection takes the next transaction, outside any leftover one", async () => {
    expect(await writeAll("after", [7])).toBe(0);
    expect(await rowsOf("after")).toEqual([7]);
    // Outside a transaction block PostgreSQL refuses a savepoint: none was left open.
    await expect(sql`savepoint probe`).rejects.toThrow(/transaction blocks/);
  });
});

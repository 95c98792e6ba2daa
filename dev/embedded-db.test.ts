/**
 * The databases this repository starts write like a production one: the embedded one (bun
 * start, the tests, the bench) and compose's both run with checkpoints far apart and WAL
 * files that are not zero-filled as they are made.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { withSessionConnection } from "../lib/db.ts";
import { startEmbeddedDatabase, WRITE_HEAVY_SETTINGS, type EmbeddedDatabase } from "./embedded-db.ts";
import { freePort } from "./stack/free-port.ts";
import { useEndToEndTimeouts } from "./testing/timeouts.ts";

useEndToEndTimeouts();

let db: EmbeddedDatabase;

beforeAll(async () => {
  db = await startEmbeddedDatabase({ dir: resolve(import.meta.dir, "../.data", `embedded-${process.pid}`), port: freePort(), ephemeral: true });
}, 30_000);

afterAll(async () => {
  await db?.close();
}, 30_000);

describe("checkpoints far apart, WAL files not zero-filled", () => {
  test("the embedded database runs with them", async () => {
    const running = await withSessionConnection(db.url, "embedded-db-test", async (sql) => {
      const shown: Record<string, string> = {};
      for (const name of Object.keys(WRITE_HEAVY_SETTINGS)) shown[name] = (await sql.unsafe(`show ${name}`))[0]![name];
      return shown;
    });
    expect(running).toEqual({ checkpoint_timeout: "30min", max_wal_size: "4GB", wal_init_zero: "off" });
  });

  test("compose's PostgreSQL runs with the same", () => {
    const compose = Bun.YAML.parse(readFileSync(resolve(import.meta.dir, "../compose.yaml"), "utf8")) as { services: { postgres: { command?: string[] } } };
    const command = compose.services.postgres.command ?? [];
    const given = Object.fromEntries(command.flatMap((arg, i) => (command[i - 1] === "-c" ? [arg.split("=") as [string, string]] : [])));
    expect(given).toEqual(WRITE_HEAVY_SETTINGS);
  });
});

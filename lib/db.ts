/** PostgreSQL through postgres.js: connecting, migrating, telling "database down" apart. */
import postgres from "postgres";

export type Sql = postgres.Sql;

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  /** Seconds; a query made while the database is unreachable fails within this time. */
  connectTimeout?: number;
  applicationName: string;
  /**
   * The URL is a transaction-mode pooler (DATABASE_POOL_MODE=transaction): no named prepared
   * statements, since the next query may run on another server connection that never saw them.
   */
  transactionPooler?: boolean;
}

export function connectDatabase(o: DatabaseOptions): Sql {
  return postgres(o.url, {
    max: o.poolSize,
    prepare: !o.transactionPooler,
    connect_timeout: o.connectTimeout ?? 2,
    // Idle connections stay open (no idle_timeout): a sale that opens after a quiet minute
    // otherwise finds them closed, and its first transaction waits for a new connection and a
    // new server process while the orders queue behind it.
    // postgres.js counts failed connects across the whole pool and waits up to 20 s before the
    // next one; a pool that retried often during an outage would stay away that long after the
    // database is back. Capped, writes resume within a second of its return.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 0.5),
    max_lifetime: 60 * 30,
    onnotice: () => {},
    connection: { application_name: o.applicationName },
  });
}

export interface Migration {
  name: string;
  sql: string;
}

/**
 * Runs `work` on a connection of its own, closed afterwards: the migrations go to
 * DATABASE_SESSION_URL, past any pooler, so their advisory lock does not depend on how a pooler
 * scopes sessions and their DDL holds none of its few server connections.
 */
export async function withSessionConnection<T>(url: string, applicationName: string, work: (sql: Sql) => Promise<T>): Promise<T> {
  const sql = connectDatabase({ url, poolSize: 1, applicationName });
  try {
    return await work(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Applies the migrations of one schema, each once, in order. An advisory lock makes two
 * replicas that start together take turns instead of racing on DDL.
 */
export async function migrate(sql: Sql, schema: string, migrations: Migration[]): Promise<string[]> {
  const applied: string[] = [];
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext(${"migrate:" + schema}))`;
    await tx.unsafe(`create schema if not exists ${schema}`);
    await tx.unsafe(
      `create table if not exists ${schema}.schema_migrations (name text primary key, applied_at timestamptz not null default now())`,
    );
    const done = new Set((await tx.unsafe(`select name from ${schema}.schema_migrations`)).map((r) => r.name as string));
    for (const m of migrations) {
      if (done.has(m.name)) continue;
      await tx.unsafe(m.sql);
      await tx.unsafe(`insert into ${schema}.schema_migrations (name) values ($1)`, [m.name]);
      applied.push(m.name);
    }
  });
  return applied;
}

/** Whether the database answers a trivial query within `timeoutMs`. */
export async function databaseAnswers(sql: Sql, timeoutMs = 1000): Promise<boolean> {
  const ping = sql`select 1`.then(() => true, () => false);
  return Promise.race([ping, Bun.sleep(timeoutMs).then(() => false)]);
}

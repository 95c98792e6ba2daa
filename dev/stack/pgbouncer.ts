/**
 * A real PgBouncer in transaction pooling mode in front of a PostgreSQL, for the end-to-end
 * suites and the bench to run the services the way a large deployment does. Debian's
 * `pgbouncer` binary; its config and auth file live in a temporary directory.
 */
import type { Subprocess } from "bun";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.ts";

export interface PgBouncer {
  /** DATABASE_URL through the pooler: same user, password and database as the server's. */
  url: string;
  port: number;
  process: Subprocess;
  stop(): Promise<void>;
}

export interface PgBouncerOptions {
  /** The PostgreSQL behind it, as a postgres:// URL. */
  serverUrl: string;
  /** Server connections per user and database: what the pooler lets reach PostgreSQL. */
  poolSize?: number;
  onLog?: (line: string) => void;
}

export const PGBOUNCER_BINARY = Bun.which("pgbouncer") ?? Bun.which("pgbouncer", { PATH: "/usr/sbin:/usr/local/sbin" });

export async function startPgBouncer(o: PgBouncerOptions): Promise<PgBouncer> {
  if (!PGBOUNCER_BINARY) throw new Error("pgbouncer is not installed (apt-get install -y pgbouncer)");
  const server = new URL(o.serverUrl);
  const user = decodeURIComponent(server.username);
  const password = decodeURIComponent(server.password);
  const database = server.pathname.slice(1);
  const port = freePort();
  const dir = mkdtempSync(join(tmpdir(), "pgbouncer-"));
  // PgBouncer refuses to run as root; as root it is told to switch to an ordinary user, who must
  // be able to read its files.
  chmodSync(dir, 0o755);
  const runAs = process.getuid?.() === 0 ? ["-u", "postgres"] : [];
  writeFileSync(join(dir, "users.txt"), `"${user}" "${password}"\n`, { mode: 0o644 });
  writeFileSync(
    join(dir, "pgbouncer.ini"),
    `[databases]
${database} = host=${server.hostname} port=${server.port || 5432} dbname=${database}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = plain
auth_file = ${join(dir, "users.txt")}
pool_mode = transaction
admin_users = ${user}
default_pool_size = ${o.poolSize ?? 20}
max_client_conn = 2000
; postgres.js sends none of these; psql and pgbench do, and PgBouncer refuses unknown ones.
ignore_startup_parameters = extra_float_digits,options
logfile =
pidfile =
`,
    { mode: 0o644 },
  );
  const child = Bun.spawn([PGBOUNCER_BINARY, ...runAs, join(dir, "pgbouncer.ini")], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const onLog = o.onLog ?? (() => {});
  void (async () => {
    for await (const chunk of child.stderr) onLog(new TextDecoder().decode(chunk).trimEnd());
  })();
  void (async () => {
    for await (const chunk of child.stdout) onLog(new TextDecoder().decode(chunk).trimEnd());
  })();
  await waitListening(port, child);
  return {
    url: `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    port,
    process: child,
    stop: async () => {
      child.kill("SIGTERM");
      await child.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitListening(port: number, child: Subprocess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited with code ${child.exitCode} before it listened`);
    const up = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).then(
      (s) => (s.end(), true),
      () => false,
    );
    if (up) return;
    await Bun.sleep(25);
  }
  throw new Error(`pgbouncer did not listen on ${port} within ${timeoutMs} ms`);
}

/**
 * The whole system on one machine: a database (embedded unless given), auth, product, order
 * and the gateway, as child processes run from the sources or from the compiled executables.
 * `bun start`, the end-to-end tests and the bench all start it through here.
 */
import type { Subprocess } from "bun";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { linesOf } from "../../lib/lines.ts";
import { startEmbeddedDatabase, type EmbeddedDatabase } from "../embedded-db.ts";
import { freePort } from "./free-port.ts";
import { startPgBouncer, type PgBouncer } from "./pgbouncer.ts";

export type ServiceName = "auth" | "product" | "order" | "gateway";
export const SERVICES: ServiceName[] = ["auth", "product", "order", "gateway"];

export interface StackOptions {
  /** "source" runs `bun <service>/main.ts`; "binary" runs `dist/<service>`. */
  mode?: "source" | "binary";
  /** Use this database instead of starting an embedded one. */
  databaseUrl?: string;
  /** Where the embedded database keeps its data (default `.data/postgres`). */
  dataDir?: string;
  /** Deletes the embedded database's data when the stack stops. */
  ephemeral?: boolean;
  databasePort?: number;
  /**
   * Puts a PgBouncer in transaction pooling mode between the services and the database: their
   * DATABASE_URL goes through it, DATABASE_SESSION_URL (LISTEN, migrations) straight to it.
   */
  pgbouncer?: boolean;
  ports?: Partial<Record<ServiceName, number>>;
  /** The gateway's admin listener (metrics); default 8100, or a free port when `ports` names the gateway's. */
  gatewayAdminPort?: number;
  /** Extra environment for every service (JWT_SECRET, LOG_LEVEL, ...). */
  env?: Record<string, string>;
  /** Receives every line a service prints; default: prefixed on stdout. */
  log?: (service: string, line: string) => void;
}

export interface RunningStack {
  gatewayUrl: string;
  /** Where the gateway serves its metrics (its admin listener). */
  gatewayAdminUrl: string;
  authUrl: string;
  productUrl: string;
  orderUrl: string;
  /** The database itself, never the pooler: what a test connects to for a look of its own. */
  databaseUrl: string;
  /** The services' DATABASE_URL when they run behind PgBouncer. */
  poolerUrl: string | null;
  /** The database settings the stack's services got, for a test that starts one more instance. */
  databaseEnv: Record<string, string>;
  /** The embedded database, when the stack started one (tests stop and start it). */
  database: EmbeddedDatabase | null;
  ports: Record<ServiceName, number>;
  pids(): { gateway: number[]; auth: number[]; product: number[]; order: number[]; postgres: number | null; pgbouncer: number | null };
  stop(): Promise<void>;
}

const ROOT = resolve(import.meta.dir, "../..");

export function serviceCommand(service: ServiceName, mode: "source" | "binary"): string[] {
  if (mode === "binary") {
    const exe = resolve(ROOT, "dist", service);
    if (!existsSync(exe)) throw new Error(`${exe} is missing: run \`bun run build\` first`);
    return [exe];
  }
  return [process.execPath, resolve(ROOT, service, "main.ts")];
}

const defaultLog = (service: string, line: string) => process.stdout.write(`${service.padEnd(8)}| ${line}\n`);

/** Passes a child's output on line by line. */
async function pipeLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  for await (const line of linesOf(stream)) onLine(line);
}

/** How long one health probe may take: a port held by something that never answers must not hang the start. */
const PROBE_TIMEOUT_MS = 1000;

/** Resolves once `url/health` answers 200; rejects when the child exits first or after `timeoutMs` in all. */
export async function waitHealthy(url: string, child: Subprocess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited with code ${child.exitCode} before it was healthy`);
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(Math.min(PROBE_TIMEOUT_MS, Math.max(1, deadline - Date.now()))) });
      if (res.ok) return;
      last = `answered ${res.status}`;
    } catch (e) {
      last = (e as Error).name === "TimeoutError" ? `no answer within ${PROBE_TIMEOUT_MS} ms` : "not listening";
    }
    await Bun.sleep(50);
  }
  throw new Error(`${url} was not healthy within ${timeoutMs} ms (last try: ${last})`);
}

export async function stopProcess(child: Subprocess, timeoutMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const killed = await Promise.race([child.exited.then(() => false), Bun.sleep(timeoutMs).then(() => true)]);
  if (killed) {
    child.kill("SIGKILL");
    await child.exited;
  }
}

export async function startStack(o: StackOptions = {}): Promise<RunningStack> {
  const mode = o.mode ?? "source";
  const log = o.log ?? defaultLog;
  const database = o.databaseUrl
    ? null
    : await startEmbeddedDatabase({ dir: o.dataDir, port: o.databasePort, ephemeral: o.ephemeral, onLog: (l) => log("postgres", l.trimEnd()) });
  const databaseUrl = o.databaseUrl ?? database!.url;
  let pooler: PgBouncer | null = null;
  try {
    pooler = o.pgbouncer ? await startPgBouncer({ serverUrl: databaseUrl, onLog: (l) => log("pgbouncer", l) }) : null;
  } catch (e) {
    await database?.close();
    throw e;
  }
  const databaseEnv: Record<string, string> = pooler
    ? { DATABASE_URL: pooler.url, DATABASE_SESSION_URL: databaseUrl, DATABASE_POOL_MODE: "transaction" }
    : { DATABASE_URL: databaseUrl };
  const ports: Record<ServiceName, number> = { auth: 8001, product: 8002, order: 8003, gateway: 8000, ...o.ports };
  const adminPort = o.gatewayAdminPort ?? (o.ports?.gateway !== undefined ? freePort() : 8100);
  const urls = {
    auth: `http://127.0.0.1:${ports.auth}`,
    product: `http://127.0.0.1:${ports.product}`,
    order: `http://127.0.0.1:${ports.order}`,
    gateway: `http://127.0.0.1:${ports.gateway}`,
  };
  const env = {
    ...process.env,
    ...databaseEnv,
    AUTH_PORT: String(ports.auth),
    PRODUCT_PORT: String(ports.product),
    ORDER_PORT: String(ports.order),
    GATEWAY_PORT: String(ports.gateway),
    GATEWAY_ADMIN_PORT: String(adminPort),
    AUTH_URL: urls.auth,
    PRODUCT_URL: urls.product,
    ORDER_URL: urls.order,
    EXIT_WITH_PARENT: "1",
    ...o.env,
  };
  const children = new Map<ServiceName, Subprocess<"ignore", "pipe", "pipe">>();
  const spawn = (service: ServiceName) => {
    const child = Bun.spawn(serviceCommand(service, mode), { env, cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    children.set(service, child);
    void pipeLines(child.stdout, (l) => log(service, l));
    void pipeLines(child.stderr, (l) => log(service, l));
    return waitHealthy(urls[service], child).catch((e: Error) => {
      throw new Error(`${service}: ${e.message}`);
    });
  };
  const stop = async () => {
    await Promise.all(["gateway"].map((s) => children.get(s as ServiceName)).filter(Boolean).map((c) => stopProcess(c!)));
    await Promise.all(["auth", "product", "order"].map((s) => children.get(s as ServiceName)).filter(Boolean).map((c) => stopProcess(c!)));
    await pooler?.stop();
    await database?.close();
  };
  try {
    await Promise.all([spawn("auth"), spawn("product"), spawn("order")]);
    await spawn("gateway");
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    gatewayUrl: urls.gateway,
    gatewayAdminUrl: `http://127.0.0.1:${adminPort}`,
    authUrl: urls.auth,
    productUrl: urls.product,
    orderUrl: urls.order,
    databaseUrl,
    poolerUrl: pooler?.url ?? null,
    databaseEnv,
    database,
    ports,
    pids: () => ({
      gateway: [children.get("gateway")!.pid],
      auth: [children.get("auth")!.pid],
      product: [children.get("product")!.pid],
      order: [children.get("order")!.pid],
      postgres: database ? postmasterPid(database.dir) : null,
      pgbouncer: pooler?.process.pid ?? null,
    }),
    stop,
  };
}

/** The postmaster's pid, from the first line of `postmaster.pid` in the data directory. */
function postmasterPid(dir: string): number | null {
  try {
    const text = require("node:fs").readFileSync(resolve(dir, "postmaster.pid"), "utf8") as string;
    const pid = Number(text.split("\n")[0]);
    return Number.isInteger(pid) ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Starting a service: listen, say so once, and on SIGTERM/SIGINT stop accepting, let
 * in-flight requests finish, close what the service holds, exit 0.
 */
import type { Elysia } from "elysia";
import { ConfigError } from "./config.ts";
import { describeError, type Logger } from "./log.ts";

export interface ListenOptions {
  port: number;
  host: string;
  reusePort?: boolean;
  maxBodyBytes: number;
  shutdownGraceMs: number;
}

// biome-ignore lint: any Elysia app will do
type AnyApp = Elysia<any, any, any, any, any, any, any>;

/** Seconds a kept-alive client connection may sit idle. */
export const IDLE_TIMEOUT_S = 30;

/** A listen failure as a one-line config error where the cause is the setting. */
export function listenFailure(e: unknown, port: number, host: string): unknown {
  const code = (e as { code?: string }).code;
  if (code === "EADDRINUSE") return new ConfigError(`port ${port} on ${host} is already in use`);
  if (code === "EACCES") return new ConfigError(`no permission to listen on port ${port}`);
  return e;
}

/** Starts the app's server. */
export function listenApp(app: AnyApp, o: ListenOptions): void {
  try {
    app.listen({
      port: o.port,
      hostname: o.host,
      reusePort: o.reusePort ?? false,
      // Headroom over the body limit so the app, not Bun, answers 413 in the contract's shape.
      maxRequestBodySize: o.maxBodyBytes + 64 * 1024,
      idleTimeout: IDLE_TIMEOUT_S,
    });
  } catch (e) {
    throw listenFailure(e, o.port, o.host);
  }
}

/**
 * On SIGTERM/SIGINT (or the launcher's death), runs `stop` (stop accepting, let in-flight
 * requests finish, close what the service holds) and exits 0; exits 1 if that takes longer
 * than the grace period.
 */
export function stopOnSignal(log: Logger, graceMs: number, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("stopping", { signal });
    const force = setTimeout(() => {
      log.warn("grace period over, exiting with requests in flight", { graceMs });
      process.exit(1);
    }, graceMs);
    try {
      await stop();
    } catch (e) {
      log.error("error while stopping", describeError(e));
    }
    clearTimeout(force);
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void onSignal("SIGTERM"));
  process.on("SIGINT", () => void onSignal("SIGINT"));
  // Started by `bun start` or a test: if that launcher dies without stopping us, stop too,
  // so no service outlives the stack it belonged to.
  if (process.env.EXIT_WITH_PARENT === "1") {
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) void onSignal("parent exited");
    }, 500).unref();
  }
}

/** Listens, and stops gracefully on a signal: the app's server first, then `onStop`. */
export function listen(app: AnyApp, o: ListenOptions, log: Logger, onStop: () => Promise<void>): void {
  listenApp(app, o);
  stopOnSignal(log, o.shutdownGraceMs, async () => {
    await app.server?.stop(false);
    await onStop();
  });
}

export interface MainOptions {
  service: string;
  /** What `--help` prints: the settings. */
  help: string;
  /** The variable holding the listen port, for `--healthcheck`. */
  portVariable: string;
  defaultPort: number;
}

/**
 * Runs a service's start function; a bad setting ends the process with one line, no stack.
 * `--help` prints the settings; `--healthcheck` asks the running service on this machine if
 * it is ready (exit 0) or not (exit 1), for container health checks where there is no curl.
 */
export async function runMain(o: MainOptions, start: () => Promise<void>): Promise<void> {
  if (process.argv.includes("--help")) {
    console.log(o.help);
    process.exit(0);
  }
  if (process.argv.includes("--healthcheck")) {
    const port = process.env[o.portVariable] || String(o.defaultPort);
    const ok = await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
    process.exit(ok ? 0 : 1);
  }
  const service = o.service;
  try {
    await start();
  } catch (e) {
    const message = e instanceof ConfigError ? e.message : describeStartError(e);
    process.stderr.write(`${service}: cannot start: ${message}\n`);
    process.exit(1);
  }
}

function describeStartError(e: unknown): string {
  const err = e as { code?: string; message?: string; address?: string; port?: number };
  if (err?.code === "ECONNREFUSED" || err?.code === "CONNECT_TIMEOUT" || err?.code === "ENOTFOUND")
    return `the database is not reachable (${err.code})`;
  if (err?.code === "28P01" || err?.code === "28000") return "the database refused the credentials in DATABASE_URL";
  if (err?.code === "3D000") return "the database named in DATABASE_URL does not exist";
  return err?.message ?? String(e);
}

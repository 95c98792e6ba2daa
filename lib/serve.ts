/**
 * Starting a service: listen, say so once, and on SIGTERM/SIGINT stop accepting, let
 * in-flight requests finish, close what the service holds, exit 0.
 */
import type { Elysia } from "elysia";
import { ConfigError, MAX_BODY_LIMIT, type Setting, type Settings, type SettingsTable, type ValuesOf } from "./config.ts";
import { VERSION } from "./version.ts";
import { MAX_MESSAGE_BYTES } from "./mux-frames.ts";
import type { MuxServer } from "./mux-server.ts";
import { describeError, type Logger } from "./log.ts";

export interface ListenOptions {
  port: number;
  host: string;
  reusePort?: boolean;
  maxBodyBytes: number;
  shutdownGraceMs: number;
  /** The gateway's multiplexed channel, told GOAWAY as the server stops: Bun's stop waits for it to close. */
  mux?: MuxServer;
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
      // A channel message holds whole requests: one may be as large as any body limit allows.
      websocket: { maxPayloadLength: MAX_BODY_LIMIT + MAX_MESSAGE_BYTES },
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
    o.mux?.goAway();
    await app.server?.stop(false);
    await onStop();
  });
}

/** The flags every service executable takes; anything else is refused. */
const FLAGS = {
  "--help": "print the settings (environment variables) and exit",
  "--version": "print the version and exit",
  "--healthcheck": "ask the service running on this machine with these settings if it is ready (exit 0) or not (exit 1)",
};

/** Where `--healthcheck` asks: the service's own port, on loopback when it listens on every address. */
function readinessUrl(port: number, host: string): string {
  const loopback = host === "0.0.0.0" || host === "::" || host === "";
  const address = loopback ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return `http://${address}:${port}/ready`;
}

/**
 * Runs a service: reads its settings and calls `start` with them; a bad setting or a failed
 * start ends the process with one line, no stack. `--help` prints the settings table,
 * `--version` the version, and `--healthcheck` asks the running service on this machine if it
 * is ready (for container health checks, where there is no curl). Unknown flags are refused.
 */
export async function runMain<T extends SettingsTable & { port: Setting<number>; host: Setting<string> }>(
  settings: Settings<T>,
  start: (config: ValuesOf<T>) => Promise<void>,
): Promise<void> {
  const service = settings.service;
  const args = process.argv.slice(2);
  const unknown = args.find((a) => !(a in FLAGS));
  if (unknown !== undefined || args.length > 1) {
    const what = unknown !== undefined ? `unknown option ${JSON.stringify(unknown)}` : "one option at a time";
    process.stderr.write(`${service}: ${what}; options: ${Object.keys(FLAGS).join(", ")} (settings come from the environment: ${service} --help)\n`);
    process.exit(2);
  }
  if (args[0] === "--help") {
    console.log(`${service} ${VERSION}\n\n${Object.entries(FLAGS).map(([flag, what]) => `  ${flag.padEnd(14)}  ${what}`).join("\n")}\n\n${settings.help()}`);
    process.exit(0);
  }
  if (args[0] === "--version") {
    console.log(VERSION);
    process.exit(0);
  }
  try {
    if (args[0] === "--healthcheck") {
      const url = readinessUrl(settings.readOne("port") as number, settings.readOne("host") as string);
      const ok = await fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
      process.exit(ok ? 0 : 1);
    }
    await start(settings.read());
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

/**
 * What the bench drives: its own stack from the compiled executables on its own embedded
 * database (the default), or a running gateway given by URL. Knows the processes behind each
 * part, when it started them, so their CPU and memory can be sampled.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { freePort } from "../dev/stack/free-port.ts";
import { SERVICES, startStack, type RunningStack } from "../dev/stack/stack.ts";
import { findNginx, startNginx, type RunningNginx } from "./nginx.ts";
import type { ProcessGroup } from "./process-sampler.ts";
import type { TargetName } from "./scenarios.ts";

export interface Targets {
  urls: Partial<Record<TargetName, string>>;
  /** Processes of the system under test, by part (gateway, auth, product, order, postgres, nginx). */
  groups(): Record<string, ProcessGroup>;
  /** The system's database, for the stock check after an order scenario; unknown for a bare --url. */
  databaseUrl?: string;
  /** The system's signing key, for the bench's own tokens; unknown for a bare --url. */
  jwtSecret?: string;
  /**
   * A second stack like this one but with ORDER_BATCHING=off, for the one-transaction-per-order
   * comparison: started on the first call, stopped with this one; null when driving a --url.
   */
  unbatched(): Promise<Targets> | null;
  stop(): Promise<void>;
}

export interface TargetOptions {
  /** A running gateway to drive instead of starting a stack. */
  url?: string;
  /** With `url`: the product service behind it, for the direct-to-product comparison. */
  productUrl?: string;
  /** A stack already running (the bench's own test passes the test stack). */
  stack?: RunningStack;
  /** With `url` or `stack`: the signing key and database of that system. */
  jwtSecret?: string;
  databaseUrl?: string;
  mode: "binary" | "source";
  gatewayWorkers?: number;
  nginx: boolean;
  pgbouncer?: boolean;
  note(text: string): void;
}

const ROOT = resolve(import.meta.dir, "..");

export async function prepareTargets(o: TargetOptions): Promise<Targets> {
  if (o.url) {
    return { urls: { gateway: o.url.replace(/\/$/, ""), product: o.productUrl?.replace(/\/$/, "") }, groups: () => ({}), databaseUrl: o.databaseUrl, jwtSecret: o.jwtSecret, unbatched: () => null, stop: async () => {} };
  }
  let owned: RunningStack | null = null;
  const secret = o.stack ? o.jwtSecret : randomBytes(32).toString("base64url");
  const stack =
    o.stack ??
    (owned = await startOwnStack(o, "bench", { JWT_SECRET: secret! }).catch((e: Error) => {
      throw new Error(`could not start the stack: ${e.message}`);
    }));
  let unbatched: Promise<Targets> | null = null;
  let nginx: RunningNginx | null = null;
  const nginxBinary = o.nginx ? findNginx() : null;
  if (nginxBinary) {
    nginx = await startNginx(nginxBinary, stack.ports.product, freePort(), Math.max(1, o.gatewayWorkers ?? 1)).catch((e: Error) => {
      o.note(`nginx is installed but did not start (${e.message}); max-nginx is skipped`);
      return null;
    });
  } else if (o.nginx) o.note("nginx is not installed: max-nginx is skipped (apt-get install nginx to compare)");
  return {
    urls: { gateway: stack.gatewayUrl, product: stack.productUrl, nginx: nginx?.url },
    groups() {
      const groups = stackGroups(stack);
      if (nginx) groups.nginx = { pids: [nginx.pid], tree: true };
      return groups;
    },
    databaseUrl: stack.databaseUrl,
    jwtSecret: secret,
    unbatched: () =>
      (unbatched ??= (async () => {
        const key = randomBytes(32).toString("base64url");
        o.note("starting a second stack with ORDER_BATCHING=off (one transaction per order) ...");
        const other = await startOwnStack(o, "bench-unbatched", { JWT_SECRET: key, ORDER_BATCHING: "off" }).catch((e: Error) => {
          throw new Error(`could not start the stack with ORDER_BATCHING=off: ${e.message}`);
        });
        return { urls: { gateway: other.gatewayUrl }, groups: () => stackGroups(other), databaseUrl: other.databaseUrl, jwtSecret: key, unbatched: () => null, stop: () => other.stop() };
      })()),
    async stop() {
      await nginx?.stop();
      await unbatched?.then((u) => u.stop(), () => {});
      await owned?.stop();
    },
  };
}

function stackGroups(stack: RunningStack): Record<string, ProcessGroup> {
  const p = stack.pids();
  const groups: Record<string, ProcessGroup> = {
    gateway: { pids: p.gateway, tree: true },
    auth: { pids: p.auth, tree: true },
    product: { pids: p.product, tree: true },
    order: { pids: p.order, tree: true },
  };
  if (p.postgres) groups.postgres = { pids: [p.postgres], tree: true };
  if (p.pgbouncer) groups.pgbouncer = { pids: [p.pgbouncer], tree: false };
  return groups;
}

/** `name`: the data directory's prefix, so that two stacks of one run keep theirs apart. */
async function startOwnStack(o: TargetOptions, name: string, env: Record<string, string>): Promise<RunningStack> {
  if (o.mode === "binary" && isBuildStale()) {
    o.note("building the executables (bun run build) ...");
    const build = Bun.spawnSync([process.execPath, "run", "build"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    if (build.exitCode !== 0) throw new Error(`bun run build failed:\n${build.stderr.toString()}${build.stdout.toString()}`);
  }
  const lines: string[] = [];
  const stack = await startStack({
    mode: o.mode,
    dataDir: resolve(ROOT, ".data", `${name}-${process.pid}`),
    ephemeral: true,
    pgbouncer: o.pgbouncer,
    databasePort: freePort(),
    ports: { gateway: freePort(), auth: freePort(), product: freePort(), order: freePort() },
    env: {
      ...env,
      LOG_LEVEL: "warn",
      ...(o.gatewayWorkers ? { GATEWAY_WORKERS: String(o.gatewayWorkers) } : {}),
    },
    log: (service, line) => {
      lines.push(`${service}| ${line}`);
      if (lines.length > 200) lines.shift();
    },
  }).catch((e: Error) => {
    throw new Error(`${e.message}\n${lines.slice(-20).join("\n")}`);
  });
  return stack;
}

/** True when an executable is missing or older than any source file it is built from. */
function isBuildStale(): boolean {
  const newest = Math.max(...["lib", ...SERVICES].map((d) => newestMtime(join(ROOT, d))), statSync(join(ROOT, "bun.lock")).mtimeMs);
  return SERVICES.some((s) => {
    const exe = join(ROOT, "dist", s);
    return !existsSync(exe) || statSync(exe).mtimeMs < newest;
  });
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (!entry.name.endsWith(".test.ts")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * What the bench drives: its own stack from the compiled executables on its own embedded
 * database (the default), or a running gateway given by URL. Knows the processes behind each
 * part, when it started them, so their CPU and memory can be sampled.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { freePort } from "../lib/stack/free-port.ts";
import { SERVICES, startStack, type RunningStack } from "../lib/stack/stack.ts";
import { findNginx, startNginx, type RunningNginx } from "./nginx.ts";
import type { ProcessGroup } from "./process-sampler.ts";
import type { TargetName } from "./scenarios.ts";

export interface Targets {
  urls: Partial<Record<TargetName, string>>;
  /** Processes of the system under test, by part (gateway, auth, product, postgres, nginx). */
  groups(): Record<string, ProcessGroup>;
  stop(): Promise<void>;
}

export interface TargetOptions {
  /** A running gateway to drive instead of starting a stack. */
  url?: string;
  /** With `url`: the product service behind it, for the direct-to-product comparison. */
  productUrl?: string;
  /** A stack already running (the bench's own test passes the test stack). */
  stack?: RunningStack;
  mode: "binary" | "source";
  gatewayWorkers?: number;
  nginx: boolean;
  pgbouncer?: boolean;
  note(text: string): void;
}

const ROOT = resolve(import.meta.dir, "..");

export async function prepareTargets(o: TargetOptions): Promise<Targets> {
  if (o.url) {
    return { urls: { gateway: o.url.replace(/\/$/, ""), product: o.productUrl?.replace(/\/$/, "") }, groups: () => ({}), stop: async () => {} };
  }
  let owned: RunningStack | null = null;
  const stack =
    o.stack ??
    (owned = await startOwnStack(o).catch((e: Error) => {
      throw new Error(`could not start the stack: ${e.message}`);
    }));
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
      const p = stack.pids();
      const groups: Record<string, ProcessGroup> = {
        gateway: { pids: p.gateway, tree: true },
        auth: { pids: p.auth, tree: true },
        product: { pids: p.product, tree: true },
        order: { pids: p.order, tree: true },
      };
      if (p.postgres) groups.postgres = { pids: [p.postgres], tree: true };
      if (p.pgbouncer) groups.pgbouncer = { pids: [p.pgbouncer], tree: false };
      if (nginx) groups.nginx = { pids: [nginx.pid], tree: true };
      return groups;
    },
    async stop() {
      await nginx?.stop();
      await owned?.stop();
    },
  };
}

async function startOwnStack(o: TargetOptions): Promise<RunningStack> {
  if (o.mode === "binary" && isBuildStale()) {
    o.note("building the executables (bun run build) ...");
    const build = Bun.spawnSync([process.execPath, "run", "build"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    if (build.exitCode !== 0) throw new Error(`bun run build failed:\n${build.stderr.toString()}${build.stdout.toString()}`);
  }
  const lines: string[] = [];
  const stack = await startStack({
    mode: o.mode,
    dataDir: resolve(ROOT, ".data", `bench-${process.pid}`),
    ephemeral: true,
    pgbouncer: o.pgbouncer,
    databasePort: freePort(),
    ports: { gateway: freePort(), auth: freePort(), product: freePort(), order: freePort() },
    env: {
      JWT_SECRET: randomBytes(32).toString("base64url"),
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

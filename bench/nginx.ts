/**
 * nginx as the reference proxy (the engine under Kong): started beside our stack when it is
 * installed, proxying to the product service with a keep-alive upstream pool and no auth, so
 * `max` can put the gateway and nginx side by side in one run.
 */
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitHealthy, stopProcess } from "../dev/stack/stack.ts";

export interface RunningNginx {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export function findNginx(): string | null {
  return Bun.which("nginx") ?? ["/usr/sbin/nginx", "/usr/local/sbin/nginx"].find((p) => existsSync(p)) ?? null;
}

export async function startNginx(binary: string, upstreamPort: number, port: number, workers: number): Promise<RunningNginx> {
  const dir = mkdtempSync(join(tmpdir(), "bench-nginx-"));
  chmodSync(dir, 0o755); // workers may run as nobody
  writeFileSync(
    join(dir, "nginx.conf"),
    `worker_processes ${workers};
error_log stderr error;
pid ${dir}/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  upstream product { server 127.0.0.1:${upstreamPort}; keepalive 128; }
  server {
    listen 127.0.0.1:${port} reuseport;
    location / {
      proxy_pass http://product;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
  );
  const child = Bun.spawn([binary, "-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], { stdin: "ignore", stdout: "ignore", stderr: "inherit" });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHealthy(url, child, 10_000);
  } catch (e) {
    await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    url,
    pid: child.pid,
    async stop() {
      await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

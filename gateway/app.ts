/** The gateway's HTTP app: its own health, and `/auth/*` and `/products/*` proxied. */
import { createServiceApp } from "../lib/service-app.ts";
import type { Logger } from "../lib/log.ts";
import type { Proxy } from "./proxy.ts";

export interface GatewayAppDeps {
  proxy: Proxy;
  log: Logger;
  bodyLimit: number;
}

export function buildGatewayApp(d: GatewayAppDeps) {
  const forward = ({ request, requestId, server }: { request: Request; requestId: string; server: { requestIP(r: Request): { address: string } | null } | null }) =>
    d.proxy(request, requestId, server?.requestIP(request)?.address ?? "unknown");
  return createServiceApp({ service: "gateway", log: d.log, bodyLimit: d.bodyLimit })
    .all("/auth", forward, { parse: "none" })
    .all("/auth/*", forward, { parse: "none" })
    .all("/products", forward, { parse: "none" })
    .all("/products/*", forward, { parse: "none" });
}

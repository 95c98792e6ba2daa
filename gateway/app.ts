/** The gateway's HTTP app: `/auth/*`, `/products/*` and `/orders/*` proxied; its own health, metrics and API docs. */
import { Elysia } from "elysia";
import { createServiceApp, type ServiceRuntime } from "../lib/service-app.ts";
import type { RequestProxy } from "./proxy.ts";

export interface GatewayAppDeps {
  proxy: RequestProxy;
  runtime: ServiceRuntime;
  /** Answers `/docs`, `/docs/json` and the page's assets under `/docs/`. */
  docs: (request: Request) => Response | Promise<Response>;
  /** The client behind a connection from this loopback port, when the edge tunnels one. */
  clientOf?: (port: number) => string | undefined;
  /** `/metrics` on this app (default); false when the admin listener serves it instead. */
  publicMetrics?: boolean;
}

const PROXIED_PATHS = ["/auth", "/auth/*", "/products", "/products/*", "/orders", "/orders/*"];

type Server = { requestIP(r: Request): { address: string; port: number } | null } | null;

export function buildGatewayApp(deps: GatewayAppDeps) {
  const clientIp = (request: Request, server: Server) => {
    const peer = server?.requestIP(request);
    return peer ? (deps.clientOf?.(peer.port) ?? peer.address) : "unknown";
  };
  const proxy = (request: Request, server: Server) => deps.proxy.handle(request, clientIp(request, server));
  const forward = ({ request, server }: { request: Request; server: Server }) => proxy(request, server);
  // Each proxied request runs the proxy and nothing else: it sets its own request id and
  // answers its own errors. When listening, Bun's own router hands these paths straight to
  // the proxy (Elysia leaves wildcard paths to its slower per-request handler); the same
  // routes in the app serve `app.handle()` and come before any hook, which would otherwise run
  // on every proxied request.
  const routes = Object.fromEntries(PROXIED_PATHS.map((path) => [path, proxy]));
  let app = new Elysia({ name: "gateway-routes", handler: { standardHostname: false }, serve: { routes } });
  for (const path of PROXIED_PATHS) app = app.all(path, forward, { parse: "none" });
  return app
    .use(createServiceApp({ ...deps.runtime, service: "gateway", metricsRoute: deps.publicMetrics !== false }))
    .get("/docs", ({ request }) => deps.docs(request))
    .get("/docs/*", ({ request }) => deps.docs(request));
}

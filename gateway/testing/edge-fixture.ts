/**
 * The gateway in process for the edge's tests: an upstream of the test's own behind every
 * route, the pool and the proxy in front of it, the gateway's app (or another server) for the
 * tunnel, and edges started on demand, all stopped together.
 */
import { jwt } from "@elysiajs/jwt";
import { Elysia } from "elysia";
import { createLogger, type Logger } from "../../lib/log.ts";
import { createServiceMetrics } from "../../lib/metrics.ts";
import { TokenVerifier } from "../../lib/token-verifier.ts";
import { buildGatewayApp } from "../app.ts";
import { startEdge, type Edge } from "../client/edge.ts";
import type { EdgeOptions } from "../client/edge-state.ts";
import type { RateLimits } from "../config.ts";
import { createProxy, type ProxyDeps } from "../proxy.ts";
import type { UpstreamName } from "../route-table.ts";
import { Upstream } from "../upstream/balancer.ts";

export interface EdgeFixtureOptions {
  /** The JWT key tokens are signed and verified with. */
  secret: string;
  /** What answers every proxied route (auth, product and order alike). */
  upstream: (req: Request) => Response | Promise<Response>;
  bodyLimit: number;
  /** The upstream's name, as its metrics and errors say. */
  upstreamName?: UpstreamName;
  maxConnections?: number;
  timeoutMs?: number;
  slowRequestMs?: number;
  log?: Logger;
  rateLimits?: RateLimits;
  onRateLimited?: ProxyDeps["onRateLimited"];
  /** The gateway's app, where the edge tunnels to: on this address, with these options. */
  app?: { hostname?: string; publicMetrics?: boolean; maxRequestBodySize?: number };
  /** Tunnel to this port instead of the gateway's app. */
  tunnelPort?: number;
}

export function startEdgeFixture(o: EdgeFixtureOptions) {
  const signer = new Elysia().use(jwt({ name: "jwt", secret: o.secret, alg: "HS256" })).decorator.jwt;
  const log = o.log ?? createLogger("gateway", "error");
  const upstreamServer = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: o.upstream });
  const upstream = new Upstream(o.upstreamName ?? "product", [new URL(`http://127.0.0.1:${upstreamServer.port}`)], {
    maxConnections: o.maxConnections ?? 64,
    timeoutMs: o.timeoutMs ?? 3000,
    connectTimeoutMs: 500,
    idleMs: 10_000,
    downMs: 1000,
  });
  const metrics = createServiceMetrics("gateway");
  const slowRequestMs = o.slowRequestMs ?? 10_000;
  const proxy = createProxy({
    upstreams: { auth: upstream, product: upstream, order: upstream },
    verifier: new TokenVerifier(o.secret),
    bodyLimit: o.bodyLimit,
    metrics,
    tracer: null,
    slowRequestMs,
    log,
    onUpstreamError() {},
    rateLimits: o.rateLimits,
    onRateLimited: o.onRateLimited,
  });
  const edges: Edge[] = [];
  const app =
    o.tunnelPort === undefined
      ? buildGatewayApp({
          proxy,
          runtime: { log, metrics, bodyLimit: o.bodyLimit, slowRequestMs, tracer: null },
          docs: () => new Response("docs"),
          clientOf: (port) => edges.map((e) => e.clientOf(port)).find(Boolean),
          publicMetrics: o.app?.publicMetrics ?? false,
        })
      : null;
  const appHostname = o.app?.hostname ?? "127.0.0.1";
  app?.listen({ hostname: appHostname, port: 0, ...(o.app?.maxRequestBodySize ? { maxRequestBodySize: o.app.maxRequestBodySize } : {}) });
  const appAddress = app === null ? { hostname: "127.0.0.1", port: o.tunnelPort! } : { hostname: appHostname, port: app.server!.port! };
  return {
    log,
    proxy,
    upstream,
    upstreamServer,
    appAddress,
    /** An access token for `sub`, valid `seconds` from now. */
    tokenOf: (sub: string, seconds = 600) => signer.sign({ sub, type: "access", exp: Math.floor(Date.now() / 1000) + seconds }),
    /** Another edge in front of the same proxy and app. */
    start(options: Partial<EdgeOptions> = {}): Edge {
      const edge = startEdge({ hostname: "127.0.0.1", port: 0, reusePort: false, app: appAddress, proxy, idleTimeoutS: 30, log, bodyLimit: o.bodyLimit, ...options });
      edges.push(edge);
      return edge;
    },
    async stop(): Promise<void> {
      await Promise.all(edges.map((e) => e.stop()));
      await app?.stop(true);
      upstream.close();
      upstreamServer.stop(true);
    },
  };
}

/**
 * Starts the gateway: config, upstream pools, the app on a loopback port behind the public
 * edge (one or more processes), graceful stop.
 */
import { createLogger } from "../lib/log.ts";
import { IDLE_TIMEOUT_S, listenApp, listenFailure, runMain, stopOnSignal } from "../lib/serve.ts";
import { serviceRuntime } from "../lib/service-app.ts";
import { TokenVerifier } from "../lib/token-verifier.ts";
import { startExtraWorkers, stopWorkers } from "../lib/workers.ts";
import { ApiDocs } from "./api-docs.ts";
import { buildGatewayApp } from "./app.ts";
import { edgeLimitsOf, GATEWAY_SETTINGS } from "./config.ts";
import { startEdge, type Edge } from "./client/edge.ts";
import { createProxy } from "./proxy.ts";
import { Upstream } from "./upstream/balancer.ts";
import { registerUpstreamMetrics } from "./upstream/metrics.ts";
import { registerEdgeMetrics } from "./client/edge-metrics.ts";
import { startAdmin } from "./admin.ts";

/** A kept-alive upstream connection unused this long is closed (below the services' own idle timeout). */
const UPSTREAM_IDLE_MS = 20_000;

await runMain(GATEWAY_SETTINGS, async (config) => {
  const log = createLogger("gateway", config.logLevel);
  const poolOptions = {
    maxConnections: config.upstreamMaxConnections,
    timeoutMs: config.upstreamTimeoutMs,
    connectTimeoutMs: config.upstreamConnectTimeoutMs,
    idleMs: UPSTREAM_IDLE_MS,
    downMs: config.upstreamDownMs,
  };
  const upstreams = {
    auth: new Upstream("auth", config.authUrls, { ...poolOptions, transport: "http1" }),
    product: new Upstream("product", config.productUrls, { ...poolOptions, transport: "http1" }),
    order: new Upstream("order", config.orderUrls, { ...poolOptions, transport: config.orderTransport }),
  };
  const runtime = serviceRuntime("gateway", config, log);
  const countUpstreamError = registerUpstreamMetrics(runtime.metrics, [upstreams.auth, upstreams.product, upstreams.order]);
  let edge: Edge | null = null;
  const countRateLimited = registerEdgeMetrics(runtime.metrics, () => edge);
  const proxy = createProxy({
    upstreams,
    verifier: new TokenVerifier(config.jwtSecret, "access", config.tokenCacheSize),
    bodyLimit: config.bodyLimit,
    metrics: runtime.metrics,
    tracer: runtime.tracer,
    slowRequestMs: config.slowRequestMs,
    log,
    onUpstreamError: (upstream, e, requestId) => {
      countUpstreamError(upstream, e.kind);
      log.warn("upstream error", { requestId, upstream, kind: e.kind, error: e.message });
    },
    rateLimits: config,
    onRateLimited: countRateLimited,
  });
  const docs = new ApiDocs([
    { service: "auth", urls: config.authUrls, path: "/auth/openapi.json" },
    { service: "product", urls: config.productUrls, path: "/products/openapi.json" },
    { service: "order", urls: config.orderUrls, path: "/orders/openapi.json" },
  ]);
  const app = buildGatewayApp({ proxy, runtime, docs: docs.handle, clientOf: (port) => edge?.clientOf(port), publicMetrics: false });
  // Only the edge and this machine reach the app; each process has its own.
  listenApp(app, { port: 0, host: "127.0.0.1", maxBodyBytes: config.bodyLimit, shutdownGraceMs: config.shutdownGraceMs });
  const reusePort = config.workers > 1;
  try {
    edge = startEdge({ hostname: config.host, port: config.port, reusePort, app: { hostname: "127.0.0.1", port: app.server!.port! }, proxy, idleTimeoutS: IDLE_TIMEOUT_S, bodyLimit: config.bodyLimit, limits: edgeLimitsOf(config), trustedProxies: config.trustedProxies.size > 0 ? config.trustedProxies : undefined, log });
  } catch (e) {
    await app.server?.stop(true);
    throw listenFailure(e, config.port, config.host);
  }
  let admin: ReturnType<typeof startAdmin>;
  try {
    // With several processes on one port, a scrape reaches one of them (each reports its own).
    admin = startAdmin({ hostname: config.adminHost, port: config.adminPort, reusePort, metrics: runtime.metrics });
  } catch (e) {
    await Promise.all([edge.stop(), app.server?.stop(true)]);
    throw listenFailure(e, config.adminPort, config.adminHost);
  }
  const workers = startExtraWorkers(config.workers, log);
  stopOnSignal(log, config.shutdownGraceMs, async () => {
    await Promise.all([edge!.stop(), app.server?.stop(false), stopWorkers(workers)]);
    admin.stop(true);
    upstreams.auth.close();
    upstreams.product.close();
    upstreams.order.close();
    await runtime.tracer?.close();
  });
  log.info("ready", { url: `http://${config.host}:${edge.port}`, admin: `http://${config.adminHost}:${admin.port}`, auth: config.authUrls.map(String), product: config.productUrls.map(String), order: config.orderUrls.map(String), worker: process.env.WORKER_INDEX ?? "0", pid: process.pid });
});

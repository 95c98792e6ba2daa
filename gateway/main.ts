/** Starts the gateway: config, upstream pools, listen (one or more processes), graceful stop. */
import { createLogger } from "../lib/log.ts";
import { listen, runMain } from "../lib/serve.ts";
import { serviceRuntime } from "../lib/service-app.ts";
import { TokenVerifier } from "../lib/token-verifier.ts";
import { startExtraWorkers, stopWorkers } from "../lib/workers.ts";
import { apiDocsHandler } from "./api-docs.ts";
import { buildGatewayApp } from "./app.ts";
import { GATEWAY_SETTINGS_HELP, readGatewayConfig } from "./config.ts";
import { createProxy } from "./proxy.ts";
import { Upstream } from "./upstream.ts";
import { registerUpstreamMetrics } from "./upstream-metrics.ts";

await runMain({ service: "gateway", help: GATEWAY_SETTINGS_HELP, portVariable: "GATEWAY_PORT", defaultPort: 8000 }, async () => {
  const config = readGatewayConfig();
  const log = createLogger("gateway", config.logLevel);
  const poolOptions = {
    maxConnections: config.upstreamMaxConnections,
    timeoutMs: config.upstreamTimeoutMs,
    connectTimeoutMs: config.upstreamConnectTimeoutMs,
    idleMs: 20_000,
    downMs: config.upstreamDownMs,
  };
  const upstreams = {
    auth: new Upstream("auth", config.authUrls, poolOptions),
    product: new Upstream("product", config.productUrls, poolOptions),
  };
  const runtime = serviceRuntime("gateway", config, log);
  const countUpstreamError = registerUpstreamMetrics(runtime.metrics, [upstreams.auth, upstreams.product]);
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
  });
  const app = buildGatewayApp({ proxy, runtime, docs: apiDocsHandler(runtime) });
  const workers = startExtraWorkers(config.workers, log);
  listen(app, { port: config.port, host: config.host, reusePort: config.workers > 1, maxBodyBytes: config.bodyLimit, shutdownGraceMs: config.shutdownGraceMs }, log, async () => {
    await stopWorkers(workers);
    upstreams.auth.close();
    upstreams.product.close();
    await runtime.tracer?.close();
  });
  log.info("ready", { url: `http://${config.host}:${app.server?.port}`, auth: config.authUrls.map(String), product: config.productUrls.map(String), worker: process.env.WORKER_INDEX ?? "0", pid: process.pid });
});

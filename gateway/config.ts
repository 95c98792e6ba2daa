import { defineSettings, httpUrls, int, serviceSettings, type SettingsOf } from "../lib/config.ts";
import { jwtSecret } from "../lib/jwt-secret.ts";

export const GATEWAY_SETTINGS = defineSettings("gateway", {
  ...serviceSettings({ prefix: "GATEWAY", port: 8000, host: "0.0.0.0", hostHelp: "listen address: the gateway is the one public entry" }),
  workers: int({ env: "GATEWAY_WORKERS", default: 1, min: 1, max: 64, help: "processes sharing the port with reusePort" }),
  authUrls: httpUrls({ env: "AUTH_URL", default: "http://127.0.0.1:8001", help: "auth instance(s)" }),
  productUrls: httpUrls({ env: "PRODUCT_URL", default: "http://127.0.0.1:8002", help: "product instance(s)" }),
  orderUrls: httpUrls({ env: "ORDER_URL", default: "http://127.0.0.1:8003", help: "order instance(s)" }),
  jwtSecret: jwtSecret("HS256 key the tokens are verified with"),
  upstreamTimeoutMs: int({ env: "UPSTREAM_TIMEOUT_MS", default: 10_000, min: 10, max: 600_000, help: "an upstream answer slower than this is a 504" }),
  upstreamConnectTimeoutMs: int({ env: "UPSTREAM_CONNECT_TIMEOUT_MS", default: 1000, min: 10, max: 60_000, help: "connecting to an upstream" }),
  upstreamMaxConnections: int({ env: "UPSTREAM_MAX_CONNECTIONS", default: 256, min: 1, max: 10_000, help: "kept-alive connections per upstream instance per process" }),
  upstreamDownMs: int({ env: "UPSTREAM_DOWN_MS", default: 1000, min: 0, max: 60_000, help: "an instance that refused connections is skipped this long" }),
  tokenCacheSize: int({ env: "TOKEN_CACHE_SIZE", default: 10_000, min: 0, max: 10_000_000, help: "verified tokens remembered until they expire" }),
});

export type GatewayConfig = SettingsOf<typeof GATEWAY_SETTINGS>;

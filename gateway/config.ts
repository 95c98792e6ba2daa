import { ConfigError, defineSettings, httpUrls, int, oneOf, port, serviceSettings, setting, text, type SettingsOf } from "../lib/config.ts";
import { jwtSecret } from "../lib/jwt-secret.ts";
import { DEFAULT_EDGE_LIMITS as D, type EdgeLimits } from "./client/edge-limits.ts";
import { TrustedProxies } from "./client/trusted-proxies.ts";

const MS = { min: 100, max: 600_000 };

export const GATEWAY_SETTINGS = defineSettings("gateway", {
  ...serviceSettings({ prefix: "GATEWAY", port: 8000, host: "0.0.0.0", hostHelp: "listen address: the gateway is the one public entry" }),
  workers: int({ env: "GATEWAY_WORKERS", default: 1, min: 1, max: 64, help: "processes sharing the port with reusePort" }),
  authUrls: httpUrls({ env: "AUTH_URL", default: "http://127.0.0.1:8001", help: "auth instance(s)" }),
  productUrls: httpUrls({ env: "PRODUCT_URL", default: "http://127.0.0.1:8002", help: "product instance(s)" }),
  orderUrls: httpUrls({ env: "ORDER_URL", default: "http://127.0.0.1:8003", help: "order instance(s)" }),
  orderTransport: oneOf({
    env: "ORDER_TRANSPORT",
    default: "mux",
    allowed: ["mux", "http1"],
    help: "mux: every request in flight to an order instance on one multiplexed connection (a WebSocket at /internal/mux); http1: a kept-alive connection per request in flight",
  }),
  jwtSecret: jwtSecret("HS256 key the tokens are verified with"),
  upstreamTimeoutMs: int({ env: "UPSTREAM_TIMEOUT_MS", default: 10_000, min: 10, max: 600_000, help: "an upstream answer slower than this is a 504" }),
  upstreamConnectTimeoutMs: int({ env: "UPSTREAM_CONNECT_TIMEOUT_MS", default: 1000, min: 10, max: 60_000, help: "connecting to an upstream" }),
  // As many as a process has requests in flight (GATEWAY_MAX_IN_FLIGHT): what queues for an
  // upstream then waits in that upstream, where the order service batches it into one
  // transaction, instead of in the gateway, from where it would only trickle in as answers free
  // connections.
  upstreamMaxConnections: int({ env: "UPSTREAM_MAX_CONNECTIONS", default: D.maxInFlight, min: 1, max: 10_000, help: "kept-alive connections per upstream instance per process" }),
  upstreamDownMs: int({ env: "UPSTREAM_DOWN_MS", default: 1000, min: 0, max: 60_000, help: "an instance that refused connections is skipped this long" }),
  tokenCacheSize: int({ env: "TOKEN_CACHE_SIZE", default: 10_000, min: 0, max: 10_000_000, help: "verified tokens remembered until they expire" }),
  adminHost: text({ env: "GATEWAY_ADMIN_HOST", default: "127.0.0.1", help: "admin listener address: /metrics, /health, /ready (never on the public port)" }),
  adminPort: port({ env: "GATEWAY_ADMIN_PORT", default: 8100, help: "admin listener port (0: any free one)" }),
  headTimeoutMs: int({ env: "GATEWAY_HEAD_TIMEOUT_MS", default: D.headTimeoutMs, ...MS, help: "a request head not complete this long after its first byte: the connection is closed" }),
  bodyTimeoutMs: int({ env: "GATEWAY_BODY_TIMEOUT_MS", default: D.bodyTimeoutMs, ...MS, help: "a request body that sends nothing this long: the connection is closed" }),
  sendTimeoutMs: int({ env: "GATEWAY_SEND_TIMEOUT_MS", default: D.sendTimeoutMs, ...MS, help: "a client that takes no byte of its answers this long: the connection is closed" }),
  lingerMs: int({ env: "GATEWAY_LINGER_MS", default: D.lingerMs, min: 0, max: 60_000, help: "after a refusal (413, 431, 400), what the client still sends is read and dropped this long at most" }),
  lingerBytes: int({ env: "GATEWAY_LINGER_BYTES", default: D.lingerBytes, min: 0, max: 1024 ** 3, help: "... and this many bytes at most" }),
  connectionBufferBytes: int({ env: "GATEWAY_CONNECTION_BUFFER_BYTES", default: D.connectionBufferBytes, min: 64 * 1024, max: 1024 ** 3, help: "bytes waiting for one client before it is closed (past 64 KiB it is read no further)" }),
  bufferBytes: int({ env: "GATEWAY_BUFFER_BYTES", default: D.bufferBytes, min: 1024 * 1024, max: 64 * 1024 ** 3, help: "bytes waiting for or owed to all clients of a process; past it the largest holders are closed and new requests get 503" }),
  maxConnections: int({ env: "GATEWAY_MAX_CONNECTIONS", default: D.maxConnections, min: 1, max: 10_000_000, help: "client connections per process; past it a new one gets 503 and is closed" }),
  maxConnectionsPerAddress: int({ env: "GATEWAY_MAX_CONNECTIONS_PER_ADDRESS", default: D.maxConnectionsPerAddress, min: 1, max: 10_000_000, help: "the same per client address" }),
  maxInFlight: int({ env: "GATEWAY_MAX_IN_FLIGHT", default: D.maxInFlight, min: 1, max: 10_000_000, help: "requests being answered at once per process; past it new ones get 503 with Retry-After at once" }),
  subjectPerSecond: int({ env: "RATE_LIMIT_SUBJECT_PER_SECOND", default: 1000, min: 0, max: 10_000_000, help: "protected writes (not GET/HEAD) per token subject per second, then 429 with Retry-After; 0: off" }),
  subjectBurst: int({ env: "RATE_LIMIT_SUBJECT_BURST", default: 5000, min: 1, max: 10_000_000, help: "... that many at once" }),
  addressPerSecond: int({ env: "RATE_LIMIT_ADDRESS_PER_SECOND", default: 20_000, min: 0, max: 10_000_000, help: "protected writes per client address per second; 0: off" }),
  trustedProxies: setting({
    env: "TRUSTED_PROXIES",
    shownDefault: undefined,
    range: "addresses and CIDRs, comma-separated",
    help: "load balancers whose PROXY protocol header (v1, v2) or X-Forwarded-For (its rightmost hop not one of them) names the client; from anyone else both are ignored",
    parse: (v) => {
      try {
        return new TrustedProxies(v === undefined ? [] : v.split(",").map((e) => e.trim()).filter(Boolean));
      } catch (e) {
        throw new ConfigError(`TRUSTED_PROXIES: ${(e as Error).message}`);
      }
    },
  }),
  addressBurst: int({ env: "RATE_LIMIT_ADDRESS_BURST", default: 50_000, min: 1, max: 10_000_000, help: "... that many at once" }),
});

export type GatewayConfig = SettingsOf<typeof GATEWAY_SETTINGS>;

export interface RateLimits {
  /** Protected writes per second and burst, per token subject and per client address; rate 0: off. */
  subjectPerSecond: number;
  subjectBurst: number;
  addressPerSecond: number;
  addressBurst: number;
}

/** The edge's limits, from the settings. */
export const edgeLimitsOf = (c: GatewayConfig): EdgeLimits => ({
  headTimeoutMs: c.headTimeoutMs,
  bodyTimeoutMs: c.bodyTimeoutMs,
  sendTimeoutMs: c.sendTimeoutMs,
  lingerMs: c.lingerMs,
  lingerBytes: c.lingerBytes,
  connectionBufferBytes: c.connectionBufferBytes,
  bufferBytes: c.bufferBytes,
  maxConnections: c.maxConnections,
  maxConnectionsPerAddress: c.maxConnectionsPerAddress,
  maxInFlight: c.maxInFlight,
});

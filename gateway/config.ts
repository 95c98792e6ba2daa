import { EnvReader, readServiceSettings, type ServiceSettings } from "../lib/config.ts";
import { readJwtSecret } from "../lib/jwt-secret.ts";
import { DEFAULT_EDGE_LIMITS as D, type EdgeLimits } from "./edge-limits.ts";

export interface GatewayConfig extends ServiceSettings {
  authUrls: URL[];
  productUrls: URL[];
  jwtSecret: string;
  upstreamTimeoutMs: number;
  upstreamConnectTimeoutMs: number;
  upstreamMaxConnections: number;
  upstreamDownMs: number;
  tokenCacheSize: number;
  workers: number;
  adminHost: string;
  adminPort: number;
  limits: EdgeLimits;
  rateLimits: RateLimits;
}

export interface RateLimits {
  /** Protected writes per second and burst, per token subject and per client address; rate 0: off. */
  subjectPerSecond: number;
  subjectBurst: number;
  addressPerSecond: number;
  addressBurst: number;
}

export const GATEWAY_SETTINGS_HELP = `gateway settings (environment):
  GATEWAY_PORT                  listen port (8000)
  GATEWAY_HOST                  listen address (0.0.0.0: the gateway is the one public entry)
  GATEWAY_WORKERS               processes sharing the port with reusePort (1)
  AUTH_URL                      auth instance(s), comma-separated (http://127.0.0.1:8001)
  PRODUCT_URL                   product instance(s), comma-separated (http://127.0.0.1:8002)
  JWT_SECRET                    HS256 key the tokens are verified with (development key; refused when NODE_ENV=production)
  UPSTREAM_TIMEOUT_MS           an upstream answer slower than this is a 504 (10000)
  UPSTREAM_CONNECT_TIMEOUT_MS   connecting to an upstream (1000)
  UPSTREAM_MAX_CONNECTIONS      kept-alive connections per upstream instance per process (256)
  UPSTREAM_DOWN_MS              an instance that refused connections is skipped this long (1000)
  TOKEN_CACHE_SIZE              verified tokens remembered until they expire (10000)
  GATEWAY_ADMIN_HOST            admin listener address: /metrics, /health, /ready (127.0.0.1)
  GATEWAY_ADMIN_PORT            admin listener port (8100; 0: any free port)
  GATEWAY_HEAD_TIMEOUT_MS       a request head not complete this long after its first byte: connection closed (10000)
  GATEWAY_BODY_TIMEOUT_MS       a request body that sends nothing this long: connection closed (30000)
  GATEWAY_SEND_TIMEOUT_MS       a client that takes no byte of its answers this long: connection closed (30000)
  GATEWAY_LINGER_MS             after a refusal (413, 431, 400), what the client still sends is read and dropped this long at most (5000)
  GATEWAY_LINGER_BYTES          ... and this many bytes at most (1048576)
  GATEWAY_CONNECTION_BUFFER_BYTES  bytes waiting for one client before it is dropped (8388608); past 64 KiB it is read no further
  GATEWAY_BUFFER_BYTES          bytes waiting for all clients of a process; past it the largest holders are dropped and new requests get 503 (67108864)
  GATEWAY_MAX_CONNECTIONS       client connections per process; past it new ones get 503 and are closed (20000)
  GATEWAY_MAX_CONNECTIONS_PER_ADDRESS  the same per client address (4096)
  GATEWAY_MAX_IN_FLIGHT         requests being answered at once per process; past it new ones get 503 with Retry-After at once (1024)
  RATE_LIMIT_SUBJECT_PER_SECOND protected writes (not GET/HEAD) per token subject per second, then 429 with Retry-After; 0: off (1000)
  RATE_LIMIT_SUBJECT_BURST      ... that many at once (5000)
  RATE_LIMIT_ADDRESS_PER_SECOND protected writes per client address per second; 0: off (20000)
  RATE_LIMIT_ADDRESS_BURST      ... that many at once (50000)
  BODY_LIMIT_BYTES              largest request body (1048576)
  SHUTDOWN_GRACE_MS             time for in-flight requests at SIGTERM (10000)
  LOG_LEVEL                     debug | info | warn | error (info)
  NODE_ENV                      production refuses the development JWT key`;

export function readGatewayConfig(env = new EnvReader()): GatewayConfig {
  const settings = readServiceSettings(env, "GATEWAY_PORT", 8000, "0.0.0.0");
  return {
    ...settings,
    authUrls: env.httpUrls("AUTH_URL", "http://127.0.0.1:8001"),
    productUrls: env.httpUrls("PRODUCT_URL", "http://127.0.0.1:8002"),
    jwtSecret: readJwtSecret(env, settings.production),
    upstreamTimeoutMs: env.int("UPSTREAM_TIMEOUT_MS", 10_000, 10, 600_000),
    upstreamConnectTimeoutMs: env.int("UPSTREAM_CONNECT_TIMEOUT_MS", 1000, 10, 60_000),
    upstreamMaxConnections: env.int("UPSTREAM_MAX_CONNECTIONS", 256, 1, 10_000),
    upstreamDownMs: env.int("UPSTREAM_DOWN_MS", 1000, 0, 60_000),
    tokenCacheSize: env.int("TOKEN_CACHE_SIZE", 10_000, 0, 10_000_000),
    workers: env.int("GATEWAY_WORKERS", 1, 1, 64),
    adminHost: env.string("GATEWAY_ADMIN_HOST", "127.0.0.1"),
    adminPort: env.port("GATEWAY_ADMIN_PORT", 8100),
    limits: {
      headTimeoutMs: env.int("GATEWAY_HEAD_TIMEOUT_MS", D.headTimeoutMs, 100, 600_000),
      bodyTimeoutMs: env.int("GATEWAY_BODY_TIMEOUT_MS", D.bodyTimeoutMs, 100, 600_000),
      sendTimeoutMs: env.int("GATEWAY_SEND_TIMEOUT_MS", D.sendTimeoutMs, 100, 600_000),
      lingerMs: env.int("GATEWAY_LINGER_MS", D.lingerMs, 0, 60_000),
      lingerBytes: env.int("GATEWAY_LINGER_BYTES", D.lingerBytes, 0, 1024 * 1024 * 1024),
      connectionBufferBytes: env.int("GATEWAY_CONNECTION_BUFFER_BYTES", D.connectionBufferBytes, 64 * 1024, 1024 * 1024 * 1024),
      bufferBytes: env.int("GATEWAY_BUFFER_BYTES", D.bufferBytes, 1024 * 1024, 64 * 1024 * 1024 * 1024),
      maxConnections: env.int("GATEWAY_MAX_CONNECTIONS", D.maxConnections, 1, 10_000_000),
      maxConnectionsPerAddress: env.int("GATEWAY_MAX_CONNECTIONS_PER_ADDRESS", D.maxConnectionsPerAddress, 1, 10_000_000),
      maxInFlight: env.int("GATEWAY_MAX_IN_FLIGHT", D.maxInFlight, 1, 10_000_000),
    },
    rateLimits: {
      subjectPerSecond: env.int("RATE_LIMIT_SUBJECT_PER_SECOND", 1000, 0, 10_000_000),
      subjectBurst: env.int("RATE_LIMIT_SUBJECT_BURST", 5000, 1, 10_000_000),
      addressPerSecond: env.int("RATE_LIMIT_ADDRESS_PER_SECOND", 20_000, 0, 10_000_000),
      addressBurst: env.int("RATE_LIMIT_ADDRESS_BURST", 50_000, 1, 10_000_000),
    },
  };
}

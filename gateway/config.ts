import { EnvReader, readServiceSettings, type ServiceSettings } from "../lib/config.ts";
import { readJwtSecret } from "../lib/jwt-secret.ts";

export interface GatewayConfig extends ServiceSettings {
  authUrls: URL[];
  productUrls: URL[];
  orderUrls: URL[];
  jwtSecret: string;
  upstreamTimeoutMs: number;
  upstreamConnectTimeoutMs: number;
  upstreamMaxConnections: number;
  upstreamDownMs: number;
  tokenCacheSize: number;
  workers: number;
}

export const GATEWAY_SETTINGS_HELP = `gateway settings (environment):
  GATEWAY_PORT                  listen port (8000)
  GATEWAY_HOST                  listen address (0.0.0.0: the gateway is the one public entry)
  GATEWAY_WORKERS               processes sharing the port with reusePort (1)
  AUTH_URL                      auth instance(s), comma-separated (http://127.0.0.1:8001)
  PRODUCT_URL                   product instance(s), comma-separated (http://127.0.0.1:8002)
  ORDER_URL                     order instance(s), comma-separated (http://127.0.0.1:8003)
  JWT_SECRET                    HS256 key the tokens are verified with (development key; refused when NODE_ENV=production)
  UPSTREAM_TIMEOUT_MS           an upstream answer slower than this is a 504 (10000)
  UPSTREAM_CONNECT_TIMEOUT_MS   connecting to an upstream (1000)
  UPSTREAM_MAX_CONNECTIONS      kept-alive connections per upstream instance per process (256)
  UPSTREAM_DOWN_MS              an instance that refused connections is skipped this long (1000)
  TOKEN_CACHE_SIZE              verified tokens remembered until they expire (10000)
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
    orderUrls: env.httpUrls("ORDER_URL", "http://127.0.0.1:8003"),
    jwtSecret: readJwtSecret(env, settings.production),
    upstreamTimeoutMs: env.int("UPSTREAM_TIMEOUT_MS", 10_000, 10, 600_000),
    upstreamConnectTimeoutMs: env.int("UPSTREAM_CONNECT_TIMEOUT_MS", 1000, 10, 60_000),
    upstreamMaxConnections: env.int("UPSTREAM_MAX_CONNECTIONS", 256, 1, 10_000),
    upstreamDownMs: env.int("UPSTREAM_DOWN_MS", 1000, 0, 60_000),
    tokenCacheSize: env.int("TOKEN_CACHE_SIZE", 10_000, 0, 10_000_000),
    workers: env.int("GATEWAY_WORKERS", 1, 1, 64),
  };
}

import { DATABASE_SETTINGS_HELP, EnvReader, readDatabaseSettings, readServiceSettings, type DatabaseSettings, type ServiceSettings } from "../lib/config.ts";
import { readJwtSecret } from "../lib/jwt-secret.ts";

export interface AuthConfig extends ServiceSettings, DatabaseSettings {
  jwtSecret: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  loginFailureLimit: number;
  loginFailureWindowSeconds: number;
}

export const AUTH_SETTINGS_HELP = `auth service settings (environment):
  AUTH_PORT                      listen port (8001)
  AUTH_HOST                      listen address (127.0.0.1; only the gateway should be exposed)
${DATABASE_SETTINGS_HELP}
  JWT_SECRET                     HS256 signing key (a development key; refused when NODE_ENV=production)
  ACCESS_TOKEN_TTL_SECONDS       access token lifetime (3600)
  REFRESH_TOKEN_TTL_SECONDS      refresh token lifetime (604800 = 7 days)
  LOGIN_FAILURE_LIMIT            failed logins per email and per client address in the window (10)
  LOGIN_FAILURE_WINDOW_SECONDS   that window (300)
  BODY_LIMIT_BYTES               largest request body (1048576)
  SHUTDOWN_GRACE_MS              time for in-flight requests at SIGTERM (10000)
  LOG_LEVEL                      debug | info | warn | error (info)
  NODE_ENV                       production refuses the development JWT key`;

export function readAuthConfig(env = new EnvReader()): AuthConfig {
  const settings = readServiceSettings(env, "AUTH_PORT", 8001, "127.0.0.1");
  return {
    ...settings,
    ...readDatabaseSettings(env),
    jwtSecret: readJwtSecret(env, settings.production),
    accessTtlSeconds: env.int("ACCESS_TOKEN_TTL_SECONDS", 3600, 1),
    refreshTtlSeconds: env.int("REFRESH_TOKEN_TTL_SECONDS", 7 * 24 * 3600, 1),
    loginFailureLimit: env.int("LOGIN_FAILURE_LIMIT", 10, 1),
    loginFailureWindowSeconds: env.int("LOGIN_FAILURE_WINDOW_SECONDS", 300, 1),
  };
}

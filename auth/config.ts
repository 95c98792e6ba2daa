import { databaseSettings, defineSettings, int, serviceSettings, type SettingsOf } from "../lib/config.ts";
import { jwtSecret } from "../lib/jwt-secret.ts";

export const AUTH_SETTINGS = defineSettings("auth", {
  ...serviceSettings({ prefix: "AUTH", port: 8001, host: "127.0.0.1", hostHelp: "listen address; only the gateway should be exposed" }),
  ...databaseSettings(),
  jwtSecret: jwtSecret("HS256 signing key"),
  accessTtlSeconds: int({ env: "ACCESS_TOKEN_TTL_SECONDS", default: 3600, min: 1, help: "access token lifetime" }),
  refreshTtlSeconds: int({ env: "REFRESH_TOKEN_TTL_SECONDS", default: 7 * 24 * 3600, min: 1, help: "refresh token lifetime" }),
  loginFailureLimit: int({ env: "LOGIN_FAILURE_LIMIT", default: 10, min: 1, help: "failed logins per email and per client address in the window" }),
  loginFailureWindowSeconds: int({ env: "LOGIN_FAILURE_WINDOW_SECONDS", default: 300, min: 1, help: "that window" }),
});

export type AuthConfig = SettingsOf<typeof AUTH_SETTINGS>;

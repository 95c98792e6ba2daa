import { availableParallelism } from "node:os";
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
  hashMemoryKib: int({ env: "PASSWORD_HASH_MEMORY_KIB", default: 19_456, min: 19_456, max: 1_048_576, help: "argon2id memory per hash, KiB; stored hashes of another cost are redone at login" }),
  hashTimeCost: int({ env: "PASSWORD_HASH_TIME_COST", default: 2, min: 2, max: 20, help: "argon2id passes" }),
  hashConcurrency: int({ env: "PASSWORD_HASH_CONCURRENCY", default: availableParallelism(), shownDefault: "the CPU count", min: 1, max: 256, help: "password hashes run at once (each holds a core)" }),
  hashQueue: int({ env: "PASSWORD_HASH_QUEUE", default: 16, min: 0, max: 10_000, help: "hashes waiting for one of those; past them a login or registration is 503 with Retry-After at once" }),
});

export type AuthConfig = SettingsOf<typeof AUTH_SETTINGS>;

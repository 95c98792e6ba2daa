import { ConfigError, type EnvReader } from "./config.ts";

/** The key used when JWT_SECRET is unset: fine on a laptop, refused in production. */
export const DEVELOPMENT_JWT_SECRET = "hot-deal-development-key-do-not-use-in-production";

export function readJwtSecret(env: EnvReader, production: boolean): string {
  const secret = env.string("JWT_SECRET", DEVELOPMENT_JWT_SECRET);
  if (production && secret === DEVELOPMENT_JWT_SECRET)
    throw new ConfigError("JWT_SECRET must be set to a key of your own when NODE_ENV=production (the development key is refused)");
  if (production && secret.length < 32) throw new ConfigError("JWT_SECRET must be at least 32 characters when NODE_ENV=production");
  return secret;
}

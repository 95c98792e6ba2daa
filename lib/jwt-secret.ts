import { ConfigError, setting } from "./config.ts";

/** The key used when JWT_SECRET is unset: fine on a laptop, refused in production. */
export const DEVELOPMENT_JWT_SECRET = "hot-deal-development-key-do-not-use-in-production";

/** JWT_SECRET, as a setting: the development key when unset, refused with NODE_ENV=production. */
export const jwtSecret = (help: string) =>
  setting({
    env: "JWT_SECRET",
    shownDefault: "a development key",
    range: "at least 32 characters when NODE_ENV=production",
    help,
    parse(v, env) {
      const secret = v ?? DEVELOPMENT_JWT_SECRET;
      const production = env.NODE_ENV?.trim() === "production";
      if (production && secret === DEVELOPMENT_JWT_SECRET)
        throw new ConfigError("JWT_SECRET must be set to a key of your own when NODE_ENV=production (the development key is refused)");
      if (production && secret.length < 32) throw new ConfigError("JWT_SECRET must be at least 32 characters when NODE_ENV=production");
      return secret;
    },
  });

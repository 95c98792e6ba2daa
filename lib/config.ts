/**
 * Reading settings from the environment. Every service reads all of its settings in one
 * place at start; a bad value stops it with a message that names the variable.
 */

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

export class EnvReader {
  constructor(private readonly env: Env = process.env) {}

  private raw(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === "" ? undefined : v.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  optionalString(name: string): string | undefined {
    return this.raw(name);
  }

  int(name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max)
      throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${v}"`);
    return Number(v);
  }

  port(name: string, fallback: number): number {
    return this.int(name, fallback, 0, 65535);
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.raw(name)?.toLowerCase();
    if (v === undefined) return fallback;
    if (["1", "true", "yes", "on"].includes(v)) return true;
    if (["0", "false", "no", "off"].includes(v)) return false;
    throw new ConfigError(`${name} must be true or false, got "${v}"`);
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (!allowed.includes(v as T))
      throw new ConfigError(`${name} must be one of ${allowed.join(", ")}, got "${v}"`);
    return v as T;
  }

  /** An http(s) URL; a list when `list` is set (comma-separated). */
  httpUrls(name: string, fallback: string): URL[] {
    const v = this.raw(name) ?? fallback;
    return v.split(",").map((part) => {
      const s = part.trim();
      let url: URL;
      try {
        url = new URL(s);
      } catch {
        throw new ConfigError(`${name} must be a comma-separated list of http:// URLs, got "${s}"`);
      }
      if (url.protocol !== "http:")
        throw new ConfigError(`${name} must use http://, got "${s}"`);
      return url;
    });
  }

  httpUrlOrUnset(name: string): string | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    if (!URL.canParse(v) || !/^https?:$/.test(new URL(v).protocol)) throw new ConfigError(`${name} must be an http(s) URL, got "${v}"`);
    return v;
  }

  databaseUrl(name = "DATABASE_URL"): string | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      throw new ConfigError(`${name} must be a postgres:// URL`);
    }
    if (url.protocol !== "postgres:" && url.protocol !== "postgresql:")
      throw new ConfigError(`${name} must be a postgres:// URL, got protocol "${url.protocol}"`);
    return v;
  }
}

/** Settings every HTTP service shares. */
export interface ServiceSettings {
  port: number;
  host: string;
  production: boolean;
  logLevel: "debug" | "info" | "warn" | "error";
  bodyLimit: number;
  shutdownGraceMs: number;
  slowRequestMs: number;
  /** OTLP/HTTP collector for traces; unset: no tracing at all. */
  otlpEndpoint: string | undefined;
}

export function readServiceSettings(env: EnvReader, portVar: string, defaultPort: number, defaultHost: string): ServiceSettings {
  return {
    port: env.port(portVar, defaultPort),
    host: env.string(portVar.replace(/_PORT$/, "_HOST"), defaultHost),
    production: env.string("NODE_ENV", "development") === "production",
    logLevel: env.oneOf("LOG_LEVEL", "info", ["debug", "info", "warn", "error"] as const),
    bodyLimit: env.int("BODY_LIMIT_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
    shutdownGraceMs: env.int("SHUTDOWN_GRACE_MS", 10_000, 0, 120_000),
    slowRequestMs: env.int("SLOW_REQUEST_MS", 1000, 1, 600_000),
    otlpEndpoint: env.httpUrlOrUnset("OTEL_EXPORTER_OTLP_ENDPOINT"),
  };
}

/** How a service reaches PostgreSQL, directly or through a pooler such as PgBouncer. */
export interface DatabaseSettings {
  databaseUrl: string | undefined;
  /**
   * For what needs a server session of its own for as long as it runs: LISTEN, and the
   * migrations (one transaction holding an advisory lock and DDL). A transaction pooler hands
   * a client a different server connection per transaction, so this points past it.
   */
  databaseSessionUrl: string | undefined;
  /**
   * "transaction" when DATABASE_URL is a transaction-mode pooler: PgBouncer before 1.21 cannot
   * keep protocol-level prepared statements across the server connections it hands out.
   */
  databasePoolMode: "session" | "transaction";
  poolSize: number;
}

export const DATABASE_SETTINGS_HELP = `  DATABASE_URL                   postgres:// URL (required for the executable)
  DATABASE_SESSION_URL           postgres:// URL for LISTEN and migrations, past any transaction pooler (DATABASE_URL)
  DATABASE_POOL_MODE             session | transaction: transaction when DATABASE_URL is PgBouncer in transaction mode (session)
  DB_POOL_SIZE                   connections in the pool (10)`;

export function readDatabaseSettings(env: EnvReader): DatabaseSettings {
  const databaseUrl = env.databaseUrl();
  return {
    databaseUrl,
    databaseSessionUrl: env.databaseUrl("DATABASE_SESSION_URL") ?? databaseUrl,
    databasePoolMode: env.oneOf("DATABASE_POOL_MODE", "session", ["session", "transaction"] as const),
    poolSize: env.int("DB_POOL_SIZE", 10, 1, 500),
  };
}

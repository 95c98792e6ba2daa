/**
 * Settings: one declarative table per service, read from the environment at start. The same
 * table parses and validates the environment, prints `--help`, and is what the README's
 * settings tables are checked against (lib/config.test.ts), so a default is written once.
 *
 * A service's config.ts declares its table and nothing else:
 *
 *   export const GATEWAY_SETTINGS = defineSettings("gateway", {
 *     ...serviceSettings({ prefix: "GATEWAY", port: 8000, host: "0.0.0.0", hostHelp: "listen address" }),
 *     upstreamTimeoutMs: int({ env: "UPSTREAM_TIMEOUT_MS", default: 10_000, min: 10, max: 600_000, help: "an upstream answer slower than this is a 504" }),
 *     // another service's: batching: oneOf({ env: "ORDER_BATCHING", default: "on", allowed: ["on", "off"], help: "one transaction per order when off" }),
 *   });
 *   export type GatewayConfig = SettingsOf<typeof GATEWAY_SETTINGS>;
 *
 *   GATEWAY_SETTINGS.read()   // { port: 8000, upstreamTimeoutMs: 10000, ... } from process.env
 *   GATEWAY_SETTINGS.help()   // the --help text: every variable, its default, range, meaning
 *
 * Each key of the table is a field of the config; each entry names its variable, its default
 * (a value of the field's type; unset variables and empty ones take it), what values are
 * allowed, and a one-line description. A bad value throws a ConfigError whose message names
 * the variable; `runMain` (lib/serve.ts) prints it as one line and exits 1. The kinds are
 * below (`int`, `port`, `text`, `oneOf`, `httpUrls`, `optionalHttpUrl`, `databaseUrl`); a
 * setting of another shape is a `setting({ ..., parse })` of its own (see lib/jwt-secret.ts).
 * Settings every service has are `serviceSettings(...)`: spread them into the table.
 */

export class ConfigError extends Error {}

export type Env = Record<string, string | undefined>;

export interface Setting<T> {
  /** The environment variable. */
  env: string;
  /** The default as --help and the README show it; undefined: unset unless given. */
  shownDefault: string | undefined;
  /** The values allowed, in words ("1 to 64", "debug, info, warn, error"); "" for any text. */
  range: string;
  help: string;
  /** The value from the environment (the variable trimmed; undefined when unset or empty). */
  read(value: string | undefined, env: Env): T;
}

export type SettingsTable = Record<string, Setting<unknown>>;
export type ValuesOf<T extends SettingsTable> = { [K in keyof T]: T[K] extends Setting<infer V> ? V : never };
export type SettingsOf<S> = S extends Settings<infer T> ? ValuesOf<T> : never;

export interface Settings<T extends SettingsTable> {
  service: string;
  table: T;
  /** Every setting from `env`; throws a ConfigError naming the first bad variable. */
  read(env?: Env): ValuesOf<T>;
  /** One setting alone (e.g. the port, for `--healthcheck`). */
  readOne<K extends keyof T>(key: K, env?: Env): ValuesOf<T>[K];
  help(): string;
}

const given = (env: Env, name: string): string | undefined => {
  const v = env[name]?.trim();
  return v === undefined || v === "" ? undefined : v;
};

export function defineSettings<T extends SettingsTable>(service: string, table: T): Settings<T> {
  const readOne = <K extends keyof T>(key: K, env: Env = process.env) => {
    const s = table[key]!;
    return s.read(given(env, s.env), env) as ValuesOf<T>[K];
  };
  return {
    service,
    table,
    readOne,
    read(env = process.env) {
      const values = {} as ValuesOf<T>;
      for (const key of Object.keys(table) as (keyof T)[]) values[key] = readOne(key, env);
      return values;
    },
    help() {
      const rows = Object.values(table).map((s) => [s.env, s.shownDefault ?? "unset", s.range ? `${s.help} (${s.range})` : s.help]);
      const width = (i: number) => Math.max(...rows.map((r) => r[i]!.length));
      const [w0, w1] = [width(0), width(1)];
      const lines = rows.map(([name, fallback, meaning]) => `  ${name!.padEnd(w0)}  ${fallback!.padEnd(w1)}  ${meaning}`);
      return `${service} settings (environment variables):\n  ${"VARIABLE".padEnd(w0)}  ${"DEFAULT".padEnd(w1)}  MEANING\n${lines.join("\n")}`;
    },
  };
}

/** A setting of its own shape: `parse` gets the trimmed value, or undefined when unset. */
export function setting<T>(o: { env: string; shownDefault: string | undefined; range: string; help: string; parse: (value: string | undefined, env: Env) => T }): Setting<T> {
  return { env: o.env, shownDefault: o.shownDefault, range: o.range, help: o.help, read: o.parse };
}

/**
 * An integer from `min` to `max` (no `max`: any integer from `min` up). A default that
 * depends on the machine says so in `shownDefault` ("the CPU count").
 */
export function int(o: { env: string; default: number; shownDefault?: string; min: number; max?: number; help: string }): Setting<number> {
  const max = o.max ?? Number.MAX_SAFE_INTEGER;
  const range = o.max === undefined ? `${o.min} or more` : `${o.min} to ${o.max}`;
  return setting({
    env: o.env,
    shownDefault: o.shownDefault ?? String(o.default),
    range,
    help: o.help,
    parse(v) {
      if (v === undefined) return o.default;
      if (!/^-?\d+$/.test(v) || Number(v) < o.min || Number(v) > max) throw new ConfigError(`${o.env} must be an integer ${o.max === undefined ? `of at least ${o.min}` : `from ${o.min} to ${o.max}`}, got "${v}"`);
      return Number(v);
    },
  });
}

export const port = (o: { env: string; default: number; help: string }) => int({ ...o, min: 0, max: 65535 });

export function text(o: { env: string; default: string; help: string }): Setting<string> {
  return setting({ env: o.env, shownDefault: o.default, range: "", help: o.help, parse: (v) => v ?? o.default });
}

export function oneOf<const A extends readonly string[]>(o: { env: string; default: A[number]; allowed: A; help: string }): Setting<A[number]> {
  return setting({
    env: o.env,
    shownDefault: o.default,
    range: o.allowed.join(", "),
    help: o.help,
    parse(v) {
      if (v === undefined) return o.default;
      if (!o.allowed.includes(v)) throw new ConfigError(`${o.env} must be one of ${o.allowed.join(", ")}, got "${v}"`);
      return v;
    },
  });
}

/** One or more http:// URLs, comma-separated (several instances of a service). */
export function httpUrls(o: { env: string; default: string; help: string }): Setting<URL[]> {
  return setting({
    env: o.env,
    shownDefault: o.default,
    range: "http:// URLs, comma-separated",
    help: o.help,
    parse: (v) =>
      (v ?? o.default).split(",").map((part) => {
        const s = part.trim();
        if (!URL.canParse(s)) throw new ConfigError(`${o.env} must be a comma-separated list of http:// URLs, got "${s}"`);
        const url = new URL(s);
        if (url.protocol !== "http:") throw new ConfigError(`${o.env} must use http://, got "${s}"`);
        return url;
      }),
  });
}

export function optionalHttpUrl(o: { env: string; help: string }): Setting<string | undefined> {
  return setting({
    env: o.env,
    shownDefault: undefined,
    range: "an http(s) URL",
    help: o.help,
    parse(v) {
      if (v === undefined) return undefined;
      if (!URL.canParse(v) || !/^https?:$/.test(new URL(v).protocol)) throw new ConfigError(`${o.env} must be an http(s) URL, got "${v}"`);
      return v;
    },
  });
}

export function databaseUrl(o: { env?: string; help: string }): Setting<string | undefined> {
  const env = o.env ?? "DATABASE_URL";
  return setting({
    env,
    shownDefault: undefined,
    range: "a postgres:// URL",
    help: o.help,
    parse: (v) => postgresUrl(env, v),
  });
}

function postgresUrl(env: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (!URL.canParse(v)) throw new ConfigError(`${env} must be a postgres:// URL`);
  const protocol = new URL(v).protocol;
  if (protocol !== "postgres:" && protocol !== "postgresql:") throw new ConfigError(`${env} must be a postgres:// URL, got protocol "${protocol}"`);
  return v;
}

/**
 * How a service with a database reaches PostgreSQL, directly or through a pooler such as
 * PgBouncer: the URL, the one for what needs a session of its own, the pooler's mode, the pool.
 */
export function databaseSettings() {
  return {
    databaseUrl: databaseUrl({ help: "the database (required for the executable; bun start runs an embedded one)" }),
    // LISTEN and the migrations (an advisory lock and DDL in one transaction) hold one server
    // session for as long as they run; a transaction pooler hands out another per transaction.
    databaseSessionUrl: setting({
      env: "DATABASE_SESSION_URL",
      shownDefault: undefined,
      range: "a postgres:// URL",
      help: "for LISTEN and migrations, past any transaction pooler; unset: DATABASE_URL",
      parse: (v, env) => postgresUrl("DATABASE_SESSION_URL", v) ?? postgresUrl("DATABASE_URL", given(env, "DATABASE_URL")),
    }),
    // PgBouncer before 1.21 cannot keep protocol-level prepared statements across the server
    // connections it hands out, so in transaction mode none are sent.
    databasePoolMode: oneOf({ env: "DATABASE_POOL_MODE", default: "session", allowed: ["session", "transaction"], help: "transaction when DATABASE_URL is a transaction-mode pooler (PgBouncer): no prepared statements" }),
    poolSize: int({ env: "DB_POOL_SIZE", default: 10, min: 1, max: 500, help: "connections in the database pool per process" }),
  };
}

/** NODE_ENV=production: the development key is refused, and nothing else changes. */
export const production = setting({
  env: "NODE_ENV",
  shownDefault: "development",
  range: "production, or anything else",
  help: "production refuses the development JWT key",
  parse: (v) => v === "production",
});

/** The settings every HTTP service has; its port and host variables are `<prefix>_PORT`, `<prefix>_HOST`. */
export function serviceSettings(o: { prefix: string; port: number; host: string; hostHelp: string }) {
  return {
    port: port({ env: `${o.prefix}_PORT`, default: o.port, help: "listen port" }),
    host: text({ env: `${o.prefix}_HOST`, default: o.host, help: o.hostHelp }),
    ...sharedServiceSettings,
  };
}

/** The largest BODY_LIMIT_BYTES a service takes. */
export const MAX_BODY_LIMIT = 64 * 1024 * 1024;

/** The part of every service's table whose variables are the same in all of them. */
export const sharedServiceSettings = {
  production,
  logLevel: oneOf({ env: "LOG_LEVEL", default: "info", allowed: ["debug", "info", "warn", "error"], help: "lowest level logged" }),
  bodyLimit: int({ env: "BODY_LIMIT_BYTES", default: 1024 * 1024, min: 1024, max: MAX_BODY_LIMIT, help: "largest request body; larger ones are 413, checked while reading" }),
  shutdownGraceMs: int({ env: "SHUTDOWN_GRACE_MS", default: 10_000, min: 0, max: 120_000, help: "time for in-flight requests after SIGTERM" }),
  slowRequestMs: int({ env: "SLOW_REQUEST_MS", default: 1000, min: 1, max: 600_000, help: "requests slower than this get a warn line" }),
  otlpEndpoint: optionalHttpUrl({ env: "OTEL_EXPORTER_OTLP_ENDPOINT", help: "where spans go (OTLP/HTTP); unset, no tracing" }),
};

export type ServiceSettings = ValuesOf<ReturnType<typeof serviceSettings>>;

import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { AUTH_SETTINGS } from "../auth/config.ts";
import { GATEWAY_SETTINGS } from "../gateway/config.ts";
import { ORDER_SETTINGS } from "../order/config.ts";
import { PRODUCT_SETTINGS } from "../product/config.ts";
import { ConfigError, sharedServiceSettings, type Settings, type SettingsTable } from "./config.ts";
import { DEVELOPMENT_JWT_SECRET } from "./jwt-secret.ts";
import { SERVICES } from "../dev/stack/stack.ts";
import { START_SETTINGS } from "../dev/stack/start-settings.ts";
import { useEndToEndTimeouts } from "../dev/testing/timeouts.ts";

useEndToEndTimeouts();

const gateway = (env: Record<string, string>) => () => GATEWAY_SETTINGS.read(env);

describe("configuration", () => {
  test("defaults follow the contract", () => {
    const c = GATEWAY_SETTINGS.read({});
    expect(c.port).toBe(8000);
    expect(c.authUrls.map(String)).toEqual(["http://127.0.0.1:8001/"]);
    expect(c.productUrls.map(String)).toEqual(["http://127.0.0.1:8002/"]);
    expect(c.jwtSecret).toBe(DEVELOPMENT_JWT_SECRET);
    expect(AUTH_SETTINGS.read({}).port).toBe(8001);
    expect(PRODUCT_SETTINGS.read({}).port).toBe(8002);
    expect(ORDER_SETTINGS.read({})).toMatchObject({ port: 8003, host: "127.0.0.1", batching: "on" });
    expect(() => ORDER_SETTINGS.read({ ORDER_BATCHING: "maybe" })).toThrow(/ORDER_BATCHING/);
  });

  test("an empty variable is unset", () => {
    expect(GATEWAY_SETTINGS.read({ GATEWAY_PORT: " ", LOG_LEVEL: "" })).toMatchObject({ port: 8000, logLevel: "info" });
  });

  test("a list of upstream instances", () => {
    const c = GATEWAY_SETTINGS.read({ PRODUCT_URL: "http://127.0.0.1:9001, http://127.0.0.1:9002" });
    expect(c.productUrls.map((u) => u.port)).toEqual(["9001", "9002"]);
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ["a port that is not a number", { GATEWAY_PORT: "eighty" }, /GATEWAY_PORT must be an integer/],
    ["a port out of range", { GATEWAY_PORT: "70000" }, /GATEWAY_PORT/],
    ["a malformed URL", { AUTH_URL: "not a url" }, /AUTH_URL must be/],
    ["an https upstream", { PRODUCT_URL: "https://x:1" }, /PRODUCT_URL must use http/],
    ["the development key in production", { NODE_ENV: "production" }, /JWT_SECRET must be set/],
    ["a short key in production", { NODE_ENV: "production", JWT_SECRET: "short" }, /at least 32/],
    ["a bad log level", { LOG_LEVEL: "loud" }, /LOG_LEVEL must be one of/],
    ["a bad tracing endpoint", { OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }, /OTEL_EXPORTER_OTLP_ENDPOINT must be an http/],
    ["a slow-request threshold of 0", { SLOW_REQUEST_MS: "0" }, /SLOW_REQUEST_MS must be an integer from 1/],
  ];
  for (const [name, env, message] of bad)
    test(`refuses ${name}`, () => {
      expect(gateway(env)).toThrow(ConfigError);
      expect(gateway(env)).toThrow(message);
    });

  test("refuses a DATABASE_URL that is not postgres", () => {
    expect(() => PRODUCT_SETTINGS.read({ DATABASE_URL: "mysql://x" })).toThrow(/DATABASE_URL must be a postgres:\/\//);
  });

  test("every default passes its own validation", () => {
    for (const settings of [GATEWAY_SETTINGS, AUTH_SETTINGS, PRODUCT_SETTINGS, ORDER_SETTINGS, START_SETTINGS] as Settings<SettingsTable>[]) {
      const env = Object.fromEntries(Object.values(settings.table).flatMap((s) => (s.shownDefault && /^[\w./:,-]+$/.test(s.shownDefault) ? [[s.env, s.shownDefault]] : [])));
      expect(settings.read(env)).toEqual(settings.read({}));
    }
  });

  test("--help lists every setting of the table, with its default", () => {
    for (const settings of [GATEWAY_SETTINGS, AUTH_SETTINGS, PRODUCT_SETTINGS, ORDER_SETTINGS] as Settings<SettingsTable>[]) {
      const help = settings.help();
      for (const s of Object.values(settings.table)) expect(help).toMatch(new RegExp(`^  ${s.env} +${(s.shownDefault ?? "unset").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} `, "m"));
    }
    expect(GATEWAY_SETTINGS.help()).toContain("SLOW_REQUEST_MS");
    expect(GATEWAY_SETTINGS.help()).toContain("OTEL_EXPORTER_OTLP_ENDPOINT");
  });
});

/** The README's "## Configuration" tables: heading (### name) → variable → default as written. */
async function readmeSettings(): Promise<Map<string, Map<string, string>>> {
  const readme = await Bun.file(resolve(import.meta.dir, "../README.md")).text();
  const section = readme.slice(readme.indexOf("\n## Configuration\n"));
  const body = section.slice(1, section.indexOf("\n## ", 1) > 0 ? section.indexOf("\n## ", 1) : undefined);
  const tables = new Map<string, Map<string, string>>();
  let current: Map<string, string> | null = null;
  for (const line of body.split("\n")) {
    const heading = /^### (.+)$/.exec(line);
    if (heading) tables.set(heading[1]!.trim(), (current = new Map()));
    const row = /^\| `([A-Z0-9_]+)` \| ([^|]*) \|/.exec(line);
    if (row && current) current.set(row[1]!, row[2]!.trim().replace(/^`(.*)`$/, "$1"));
  }
  return tables;
}

const defaultsOf = (table: SettingsTable) => Object.fromEntries(Object.values(table).map((s) => [s.env, s.shownDefault ?? "unset"]));

describe("the README's settings tables", () => {
  test("list exactly each service's settings, with the same defaults", async () => {
    const readme = await readmeSettings();
    const shared = readme.get("Every service");
    expect(shared).toBeDefined();
    expect(Object.fromEntries(shared!)).toEqual(defaultsOf(sharedServiceSettings));
    for (const service of SERVICES) {
      const module = (await import(`../${service}/config.ts`)) as Record<string, unknown>;
      const settings = Object.values(module).find((v): v is Settings<SettingsTable> => (v as Settings<SettingsTable>)?.service === service);
      expect(settings, `${service}/config.ts exports its defineSettings("${service}", ...) table`).toBeDefined();
      expect(readme.has(service), `README has a "### ${service}" settings table`).toBe(true);
      expect({ ...Object.fromEntries(shared!), ...Object.fromEntries(readme.get(service)!) }).toEqual(defaultsOf(settings!.table));
    }
    expect(Object.fromEntries(readme.get("bun start") ?? [])).toEqual(defaultsOf(START_SETTINGS.table));
  });
});

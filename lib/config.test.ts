import { describe, expect, test } from "bun:test";
import { readGatewayConfig } from "../gateway/config.ts";
import { ConfigError, EnvReader } from "./config.ts";
import { DEVELOPMENT_JWT_SECRET } from "./jwt-secret.ts";

const gateway = (env: Record<string, string>) => () => readGatewayConfig(new EnvReader(env));

describe("configuration", () => {
  test("defaults follow the contract", () => {
    const c = readGatewayConfig(new EnvReader({}));
    expect(c.port).toBe(8000);
    expect(c.authUrls.map(String)).toEqual(["http://127.0.0.1:8001/"]);
    expect(c.productUrls.map(String)).toEqual(["http://127.0.0.1:8002/"]);
    expect(c.jwtSecret).toBe(DEVELOPMENT_JWT_SECRET);
  });

  test("a list of upstream instances", () => {
    const c = readGatewayConfig(new EnvReader({ PRODUCT_URL: "http://127.0.0.1:9001, http://127.0.0.1:9002" }));
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
  ];
  for (const [name, env, message] of bad)
    test(`refuses ${name}`, () => {
      expect(gateway(env)).toThrow(ConfigError);
      expect(gateway(env)).toThrow(message);
    });

  test("refuses a DATABASE_URL that is not postgres", () => {
    expect(() => new EnvReader({ DATABASE_URL: "mysql://x" }).databaseUrl()).toThrow(/postgres:\/\//);
  });
});

/**
 * The API docs: each service documents itself, the gateway merges the documents at run time
 * and serves a page that needs nothing outside this machine. The document and the gateway's
 * route table must agree on which operations are public.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closedPort } from "../dev/stack/free-port.ts";
import { startService, type ServiceProcess } from "../dev/testing/service-process.ts";
import { STACK_START_TIMEOUT_MS, testStack } from "../dev/testing/test-stack.ts";
import { routeOf } from "./route-table.ts";
import { useEndToEndTimeouts } from "../dev/testing/timeouts.ts";

useEndToEndTimeouts();

let gw = "";
let authUrl = "";
let productUrl = "";
let orderUrl = "";
let lonely: ServiceProcess | null = null;

beforeAll(async () => {
  const stack = await testStack();
  gw = stack.gatewayUrl;
  authUrl = stack.authUrl;
  productUrl = stack.productUrl;
  orderUrl = stack.orderUrl;
}, STACK_START_TIMEOUT_MS);

afterAll(async () => {
  await lonely?.stop();
});

type Operations = Record<string, Record<string, { security?: unknown[] }>>;
const documentOf = async (url: string) => {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return (await res.json()) as { paths: Operations; info: { description: string }; "x-missing-services"?: string[] };
};
const operations = (paths: Operations) =>
  Object.entries(paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, op })));

describe("the docs page", () => {
  test("references only this gateway's own URLs, and each of them is served", async () => {
    const res = await fetch(`${gw}/docs`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).not.toMatch(/https?:|\/\/[a-z]/i);
    const referenced = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(referenced.length).toBeGreaterThanOrEqual(3);
    for (const url of referenced) {
      expect(url).toStartWith("/docs/");
      const asset = await fetch(gw + url);
      expect({ url, status: asset.status }).toEqual({ url, status: 200 });
      expect(asset.headers.get("content-type")).toMatch(/^text\/(javascript|css)/);
    }
    const bundle = await (await fetch(`${gw}/docs/swagger-ui-bundle.js`)).text();
    expect(bundle).toContain("SwaggerUIBundle");
    // The page's script points Swagger UI at our document and off the public validator.
    const init = await (await fetch(`${gw}/docs/init.js`)).text();
    expect(init).toContain('"/docs/json"');
    expect(init).toContain("validatorUrl: null");
  });

  test("an unknown path under /docs is the contract's 404", async () => {
    const res = await fetch(`${gw}/docs/nothing-here.js`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toBe("NOT_FOUND");
  });
});

describe("each service documents itself", () => {
  test.each([
    ["auth", () => authUrl, "/auth"],
    ["product", () => productUrl, "/products"],
    ["order", () => orderUrl, "/orders"],
  ])("%s serves its own document, with only its own routes", async (_, url, prefix) => {
    const ops = operations((await documentOf(`${url()}${prefix}/openapi.json`)).paths);
    expect(ops.length).toBeGreaterThan(0);
    for (const { path } of ops) expect({ path, own: path === prefix || path.startsWith(`${prefix}/`) }).toEqual({ path, own: true });
  });

  test("every operation the gateway documents has the route table's public or protected flag", async () => {
    const doc = await documentOf(`${gw}/docs/json`);
    expect(doc["x-missing-services"]).toEqual([]);
    const ops = operations(doc.paths);
    expect(ops.length).toBeGreaterThanOrEqual(22);
    expect(ops.map((o) => `${o.method} ${o.path}`)).toContain("POST /orders/{id}/cancel");
    for (const { method, path, op } of ops) {
      if (path === "/health") continue; // the gateway's own, not proxied
      const concrete = path.replaceAll(/\{[^}]+\}/g, crypto.randomUUID());
      const route = routeOf(method, concrete);
      const documented = { operation: `${method} ${path}`, public: !(op.security && op.security.length > 0) };
      // The route table knows the operation by its own pattern, not only as "anything else".
      expect({ operation: documented.operation, pattern: route?.pattern }).toEqual({ operation: documented.operation, pattern: path });
      expect(documented).toEqual({ operation: documented.operation, public: route!.public });
    }
  });
});

describe("a service the gateway cannot reach", () => {
  test("is named in the merged document, which still documents the others", async () => {
    lonely = await startService("gateway", { AUTH_URL: authUrl, PRODUCT_URL: `http://127.0.0.1:${closedPort()}`, ORDER_URL: orderUrl, JWT_SECRET: "docs-test-secret-0123456789abcdef0123456789" });
    const doc = await documentOf(`${lonely.url}/docs/json`);
    expect(doc["x-missing-services"]).toEqual(["product"]);
    expect(doc.info.description).toContain("product (unreachable)");
    const paths = Object.keys(doc.paths);
    expect(paths).toContain("/auth/register");
    expect(paths).toContain("/orders/{id}/cancel");
    expect(paths.some((p) => p.startsWith("/products"))).toBe(false);
  });
});

/** What an operator sees: metrics, API docs, logs with request ids, traces. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closedPort } from "../dev/stack/free-port.ts";
import { call, registerAndLogin } from "../dev/testing/http.ts";
import { startService, type ServiceProcess } from "../dev/testing/service-process.ts";
import { TEST_JWT_SECRET, STACK_START_TIMEOUT_MS, testStack } from "../dev/testing/test-stack.ts";
import { useEndToEndTimeouts } from "../dev/testing/timeouts.ts";

useEndToEndTimeouts();

/** Samples of a Prometheus text exposition; throws on a line that is not valid. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/;
  for (const line of text.split("\n")) {
    if (line === "" || /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+/.test(line)) continue;
    const m = sample.exec(line);
    if (!m) throw new Error(`not Prometheus exposition: ${line}`);
    samples.set(m[1]! + (m[2] ?? ""), Number(m[3]));
  }
  return samples;
}

const metric = (samples: Map<string, number>, name: string, labels: Record<string, string>) => {
  for (const [key, value] of samples) {
    if (!key.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => key.includes(`${k}="${v}"`))) return value;
  }
  return 0;
};

let stack: Awaited<ReturnType<typeof testStack>>;
beforeAll(async () => {
  stack = await testStack();
}, STACK_START_TIMEOUT_MS);

describe("metrics", () => {
  test("every service serves Prometheus text; the gateway's own on its admin listener, not on the public port", async () => {
    expect((await fetch(`${stack.gatewayUrl}/metrics`)).status).toBe(404);
    expect(await (await fetch(`${stack.gatewayAdminUrl}/health`)).json()).toEqual({ status: "healthy", service: "gateway" });
    expect((await fetch(`${stack.gatewayAdminUrl}/ready`)).status).toBe(200);
    for (const [url, service] of [[stack.gatewayAdminUrl, "gateway"], [stack.authUrl, "auth"], [stack.productUrl, "product"]] as const) {
      const res = await fetch(`${url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/plain");
      const samples = parsePrometheus(await res.text());
      expect([...samples.keys()].some((k) => k.includes(`service="${service}"`))).toBe(true);
      expect(metric(samples, "process_resident_memory_bytes", {})).toBeGreaterThan(0);
    }
  });

  test("request counters and latency histograms move with traffic, labelled by route pattern", async () => {
    const before = parsePrometheus(await (await fetch(`${stack.gatewayAdminUrl}/metrics`)).text());
    const labels = { route: "/products/{id}", method: "GET", status: "404" };
    for (let i = 0; i < 5; i++) await call(stack.gatewayUrl, "GET", `/products/${crypto.randomUUID()}`);
    const after = parsePrometheus(await (await fetch(`${stack.gatewayAdminUrl}/metrics`)).text());
    expect(metric(after, "http_requests_total", labels) - metric(before, "http_requests_total", labels)).toBe(5);
    const count = { route: "/products/{id}", method: "GET" };
    expect(metric(after, "http_request_duration_seconds_count", count) - metric(before, "http_request_duration_seconds_count", count)).toBe(5);
    expect(metric(after, "http_request_duration_seconds_bucket", { ...count, le: "+Inf" })).toBe(metric(after, "http_request_duration_seconds_count", count));
    // No raw path ever becomes a label.
    expect([...after.keys()].some((k) => /route="\/products\/[0-9a-f]{8}-/.test(k))).toBe(false);
    // The product service labels its own routes with Elysia's patterns.
    const product = parsePrometheus(await (await fetch(`${stack.productUrl}/metrics`)).text());
    expect(metric(product, "http_requests_total", { route: "/products/:id", status: "404" })).toBeGreaterThanOrEqual(5);
  });

  test("product reports its snapshot's age and its database pool; the gateway its upstream connections", async () => {
    await call(stack.gatewayUrl, "GET", "/products/deals");
    const product = parsePrometheus(await (await fetch(`${stack.productUrl}/metrics`)).text());
    expect(metric(product, "product_snapshot_age_seconds", {})).toBeLessThan(5);
    expect(metric(product, "db_pool_connections", { state: "max" })).toBeGreaterThan(0);
    expect(metric(product, "db_pool_connections", { state: "open" })).toBeGreaterThan(0);
    const gateway = parsePrometheus(await (await fetch(`${stack.gatewayAdminUrl}/metrics`)).text());
    expect(metric(gateway, "gateway_upstream_connections", { upstream: "product", state: "idle" })).toBeGreaterThan(0);
    expect(metric(gateway, "gateway_open_connections", {})).toBeGreaterThanOrEqual(0);
    expect(metric(gateway, "gateway_buffered_bytes", {})).toBeGreaterThanOrEqual(0);
    expect(metric(gateway, "gateway_shed_total", { reason: "overload" })).toBeGreaterThanOrEqual(0);
  });
});

describe("API docs", () => {
  test("/docs/json is one OpenAPI 3 document listing every route of the contract", async () => {
    const res = await call(stack.gatewayUrl, "GET", "/docs/json");
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info.title).toBeString();
    const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    const contract = [
      "GET /health", "GET /auth/health", "POST /auth/register", "POST /auth/login", "POST /auth/refresh", "GET /auth/verify", "GET /auth/users/me",
      "GET /products/health", "GET /products", "POST /products", "GET /products/{id}", "PATCH /products/{id}", "GET /products/{id}/stock",
      "PATCH /products/{id}/stock", "GET /products/deals", "POST /products/deals", "GET /products/deals/{id}",
      "GET /orders/health", "POST /orders", "GET /orders", "GET /orders/{id}", "POST /orders/{id}/cancel",
    ];
    for (const route of contract) expect(routes).toContain(route);
    expect(JSON.stringify(doc.paths["/auth/register"].post.requestBody)).toContain("password");
  });

  test("/docs is an HTML page", async () => {
    const res = await fetch(`${stack.gatewayUrl}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(await res.text()).toContain("<html");
  });
});

describe("logs and traces", () => {
  const spans: { service: string; traceId: string; spanId: string; parentSpanId?: string; name: string }[] = [];
  const collector = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const body = (await req.json()) as any;
      for (const rs of body.resourceSpans)
        for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ service: rs.resource.attributes[0].value.stringValue, ...s });
      return new Response("{}");
    },
  });
  let gateway: ServiceProcess;
  let product: ServiceProcess;
  beforeAll(async () => {
    const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.port}`, LOG_LEVEL: "info" };
    product = await startService("product", { ...otel, ...stack.databaseEnv });
    gateway = await startService("gateway", { ...otel, JWT_SECRET: TEST_JWT_SECRET, PRODUCT_URL: product.url, AUTH_URL: `http://127.0.0.1:${closedPort()}` });
  });
  afterAll(async () => {
    await gateway?.stop();
    await product?.stop();
    collector.stop(true);
  });

  test("a trace goes from the client through the gateway to the service", async () => {
    const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    const clientSpan = "00f067aa0ba902b7";
    await call(gateway.url, "GET", "/products/deals", { headers: { traceparent: `00-${clientTrace}-${clientSpan}-01` } });
    await new Promise((r) => setTimeout(r, 1500));
    const ours = spans.filter((s) => s.traceId === clientTrace);
    const gatewaySpan = ours.find((s) => s.service === "gateway");
    const productSpan = ours.find((s) => s.service === "product");
    expect(gatewaySpan?.name).toBe("GET /products/deals");
    expect(gatewaySpan?.parentSpanId).toBe(clientSpan);
    expect(productSpan?.parentSpanId).toBe(gatewaySpan!.spanId);
  });

  test("quiet under load, loud on errors: no line per success, one per failure with its request id", async () => {
    const before = gateway.output().length;
    for (let i = 0; i < 30; i++) await call(gateway.url, "GET", "/products/deals");
    const failed = await call(gateway.url, "GET", "/auth/users/me", { token: (await registerAndLogin(stack.gatewayUrl, "logs")).access });
    expect(failed.status).toBe(502);
    const requestId = failed.headers.get("x-request-id")!;
    await Bun.sleep(100);
    const lines = gateway.output().slice(before).trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "warn", service: "gateway", requestId, upstream: "auth" });
  });
});

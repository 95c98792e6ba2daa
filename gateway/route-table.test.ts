import { describe, expect, test } from "bun:test";
import { routeOf } from "./route-table.ts";

const id = "0b7a0d3e-8f0a-4b8e-9a0e-2f1e5c3d4b5a";

describe("routeOf", () => {
  const publicRoutes: [string, string, string][] = [
    ["GET", "/auth/health", "auth"],
    ["POST", "/auth/register", "auth"],
    ["POST", "/auth/login", "auth"],
    ["POST", "/auth/refresh", "auth"],
    ["GET", "/products/health", "product"],
    ["GET", "/products", "product"],
    ["HEAD", "/products", "product"],
    ["GET", `/products/${id}`, "product"],
    ["GET", `/products/${id}/stock`, "product"],
    ["GET", "/products/deals", "product"],
    ["GET", `/products/deals/${id}`, "product"],
    ["GET", "/orders/health", "order"],
  ];
  for (const [method, path, upstream] of publicRoutes)
    test(`${method} ${path} is public on ${upstream}`, () => expect(routeOf(method, path)).toMatchObject({ upstream: upstream as "auth", public: true }));

  const protectedRoutes: [string, string, string][] = [
    ["GET", "/auth/verify", "auth"],
    ["GET", "/auth/users/me", "auth"],
    ["GET", "/auth/register", "auth"],
    ["POST", "/auth/health", "auth"],
    ["GET", "/auth", "auth"],
    ["POST", "/products", "product"],
    ["PATCH", `/products/${id}`, "product"],
    ["PATCH", `/products/${id}/stock`, "product"],
    ["POST", "/products/deals", "product"],
    ["DELETE", `/products/${id}`, "product"],
    ["GET", `/products/${id}/secret`, "product"],
    ["GET", `/products/${id}/stock/more`, "product"],
    ["GET", "/products/", "product"],
    ["GET", "/products//stock", "product"],
    ["GET", `/products/deals/${id}/x`, "product"],
    ["POST", "/orders", "order"],
    ["GET", "/orders", "order"],
    ["GET", `/orders/${id}`, "order"],
    ["POST", `/orders/${id}/cancel`, "order"],
    ["POST", "/orders/health", "order"],
    ["GET", "/orders/health/x", "order"],
    ["GET", "/orders/", "order"],
    ["DELETE", `/orders/${id}`, "order"],
  ];
  for (const [method, path, upstream] of protectedRoutes)
    test(`${method} ${path} needs a token`, () => expect(routeOf(method, path)).toMatchObject({ upstream: upstream as "auth", public: false }));

  for (const path of ["/", "/health2", "/productsx", "/ordersx", "/authx/login", "/docs/../auth", "/metricsx"])
    test(`${path} has no upstream`, () => expect(routeOf("GET", path)).toBeNull());
});

describe("route patterns, the metrics label", () => {
  const cases: [string, string, string][] = [
    ["GET", "/products/deals", "/products/deals"],
    ["GET", `/products/${id}`, "/products/{id}"],
    ["GET", `/products/${id}/stock`, "/products/{id}/stock"],
    ["PATCH", `/products/${id}/stock`, "/products/{id}/stock"],
    ["GET", `/products/deals/${id}`, "/products/deals/{id}"],
    ["POST", "/auth/login", "/auth/login"],
    ["GET", "/auth/users/me", "/auth/users/me"],
    ["GET", "/auth/anything/else", "/auth/*"],
    ["GET", `/products/${id}/a/b/c`, "/products/*"],
    ["DELETE", `/products/deals/${id}`, "/products/*"],
    ["POST", "/orders", "/orders"],
    ["GET", `/orders/${id}`, "/orders/{id}"],
    ["POST", `/orders/${id}/cancel`, "/orders/{id}/cancel"],
    ["GET", `/orders/${id}/cancel`, "/orders/*"],
  ];
  for (const [method, path, pattern] of cases) test(`${method} ${path} → ${pattern}`, () => expect(routeOf(method, path)?.pattern).toBe(pattern));

  test("a raw path never becomes a label: 1000 distinct ids give one pattern", () => {
    const patterns = new Set(Array.from({ length: 1000 }, (_, i) => routeOf("GET", `/products/id-${i}/x${i}`)?.pattern));
    expect([...patterns]).toEqual(["/products/*"]);
  });
});

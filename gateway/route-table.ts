/**
 * Which upstream serves a path and whether it needs a token: one pass over the path's
 * segments, no regular expressions. Anything under `/auth` or `/products` that is not listed
 * as public in the contract needs a token, so a new upstream route is protected by default.
 */
export type UpstreamName = "auth" | "product";

export interface Route {
  upstream: UpstreamName;
  public: boolean;
}

const AUTH_PUBLIC: Route = { upstream: "auth", public: true };
const AUTH_PROTECTED: Route = { upstream: "auth", public: false };
const PRODUCT_PUBLIC: Route = { upstream: "product", public: true };
const PRODUCT_PROTECTED: Route = { upstream: "product", public: false };

const AUTH_PUBLIC_GET = new Set(["/auth/health"]);
const AUTH_PUBLIC_POST = new Set(["/auth/register", "/auth/login", "/auth/refresh"]);

/** The route of `method path` (path without the query), or null when no upstream has it. */
export function routeOf(method: string, path: string): Route | null {
  const read = method === "GET" || method === "HEAD";
  if (path === "/products" || path.startsWith("/products/")) {
    if (!read) return PRODUCT_PROTECTED;
    // GET /products, /products/{id}, /products/{id}/stock, /products/deals, /products/deals/{id}
    if (path.length <= 10) return path.length === 9 ? PRODUCT_PUBLIC : PRODUCT_PROTECTED;
    const second = path.indexOf("/", 10);
    if (second === -1) return PRODUCT_PUBLIC;
    const first = path.slice(10, second);
    const rest = path.slice(second + 1);
    if (first === "" || rest === "" || rest.includes("/")) return PRODUCT_PROTECTED;
    return first === "deals" || rest === "stock" ? PRODUCT_PUBLIC : PRODUCT_PROTECTED;
  }
  if (path === "/auth" || path.startsWith("/auth/")) {
    if (method === "POST" && AUTH_PUBLIC_POST.has(path)) return AUTH_PUBLIC;
    if (read && AUTH_PUBLIC_GET.has(path)) return AUTH_PUBLIC;
    return AUTH_PROTECTED;
  }
  return null;
}

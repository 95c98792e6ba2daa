/**
 * Which upstream serves a path, whether it needs a token, and the route's pattern (the metrics
 * label): one pass over the path's segments, no regular expressions. Anything under `/auth`,
 * `/products` or `/orders` that the contract does not list as public needs a token, so a route
 * added to a service later is protected by default.
 */
export type UpstreamName = "auth" | "product" | "order";

export interface Route {
  upstream: UpstreamName;
  public: boolean;
  /** The contract's path pattern, e.g. `/products/{id}`; `/products/*` for anything else. */
  pattern: string;
  /**
   * A hot read the product service answers from memory: identical GETs that arrive together
   * may share one upstream write (see `Http1Pool.dispatch`).
   */
  hot: boolean;
}

const route = (upstream: UpstreamName, pattern: string, isPublic: boolean, hot = false): Route => ({ upstream, public: isPublic, pattern, hot });

const AUTH_OTHER = route("auth", "/auth/*", false);
const AUTH_READ = new Map([
  ["/auth/health", route("auth", "/auth/health", true)],
  ["/auth/verify", route("auth", "/auth/verify", false)],
  ["/auth/users/me", route("auth", "/auth/users/me", false)],
]);
const AUTH_POST = new Map(["/auth/register", "/auth/login", "/auth/refresh"].map((p) => [p, route("auth", p, true)]));

const PRODUCT_OTHER = route("product", "/products/*", false);
const PRODUCT_READ = {
  list: route("product", "/products", true, true),
  health: route("product", "/products/health", true),
  deals: route("product", "/products/deals", true, true),
  product: route("product", "/products/{id}", true),
  stock: route("product", "/products/{id}/stock", true),
  deal: route("product", "/products/deals/{id}", true),
};
const PRODUCT_WRITE = {
  POST: new Map([
    ["/products", route("product", "/products", false)],
    ["/products/deals", route("product", "/products/deals", false)],
  ]),
  PATCH: { product: route("product", "/products/{id}", false), stock: route("product", "/products/{id}/stock", false) },
};

const ORDER_OTHER = route("order", "/orders/*", false);
const ORDER_HEALTH = route("order", "/orders/health", true);
const ORDER_ROUTES = {
  list: route("order", "/orders", false),
  one: route("order", "/orders/{id}", false),
  cancel: route("order", "/orders/{id}/cancel", false),
};

/** The route of `method path` (path without the query), or null when no upstream has it. */
export function routeOf(method: string, path: string): Route | null {
  if (path === "/products" || path.startsWith("/products/")) return productRoute(method, path);
  if (path === "/orders" || path.startsWith("/orders/")) return orderRoute(method, path);
  if (path === "/auth" || path.startsWith("/auth/")) {
    if (method === "POST") return AUTH_POST.get(path) ?? AUTH_OTHER;
    if (method === "GET" || method === "HEAD") return AUTH_READ.get(path) ?? AUTH_OTHER;
    return AUTH_OTHER;
  }
  return null;
}

const PRODUCT_SEGMENTS = "/products/".length;
const ORDER_SEGMENTS = "/orders/".length;

function productRoute(method: string, path: string): Route {
  // Segments after "/products/": first[/rest]
  const second = path.indexOf("/", PRODUCT_SEGMENTS);
  const first = path.length <= PRODUCT_SEGMENTS ? "" : second === -1 ? path.slice(PRODUCT_SEGMENTS) : path.slice(PRODUCT_SEGMENTS, second);
  const rest = second === -1 ? null : path.slice(second + 1);
  const wellFormed = first !== "" && (rest === null || (rest !== "" && !rest.includes("/")));
  if (method === "GET" || method === "HEAD") {
    if (path === "/products") return PRODUCT_READ.list;
    if (!wellFormed) return PRODUCT_OTHER;
    if (rest === null) return first === "health" ? PRODUCT_READ.health : first === "deals" ? PRODUCT_READ.deals : PRODUCT_READ.product;
    if (first === "deals") return PRODUCT_READ.deal;
    return rest === "stock" ? PRODUCT_READ.stock : PRODUCT_OTHER;
  }
  if (method === "POST") return PRODUCT_WRITE.POST.get(path) ?? PRODUCT_OTHER;
  if (method === "PATCH" && wellFormed && first !== "deals") {
    if (rest === null) return PRODUCT_WRITE.PATCH.product;
    if (rest === "stock") return PRODUCT_WRITE.PATCH.stock;
  }
  return PRODUCT_OTHER;
}

function orderRoute(method: string, path: string): Route {
  if (path === "/orders") return method === "GET" || method === "HEAD" || method === "POST" ? ORDER_ROUTES.list : ORDER_OTHER;
  // Segments after "/orders/": first[/rest]
  const second = path.indexOf("/", ORDER_SEGMENTS);
  const first = second === -1 ? path.slice(ORDER_SEGMENTS) : path.slice(ORDER_SEGMENTS, second);
  const rest = second === -1 ? null : path.slice(second + 1);
  if (first === "") return ORDER_OTHER;
  if (rest === null) {
    if (method !== "GET" && method !== "HEAD") return ORDER_OTHER;
    return first === "health" ? ORDER_HEALTH : ORDER_ROUTES.one;
  }
  return method === "POST" && rest === "cancel" ? ORDER_ROUTES.cancel : ORDER_OTHER;
}

/**
 * The scenarios `bun bench` runs, at full scale (the original system's published load test) or scaled down in time
 * for `--quick` and for the bench's own test. Rates and user counts stay as published; only
 * the durations shrink, so a quick run still shows whether the system keeps up.
 */
import type { Profile } from "./loadgen/profile.ts";
import type { RequestSpec } from "./loadgen/request-mix.ts";
import type { DealSpec, SeededDeal } from "./order-seed.ts";
import type { Seeded } from "./seed.ts";

export type TargetName = "gateway" | "product" | "nginx";

export interface Scenario {
  name: string;
  description: string;
  target: TargetName;
  /** Empty for an order scenario: its requests are made for each run's deals (`orders.requests`). */
  requests: RequestSpec[];
  closed?: { users: Profile; thinkMs: number };
  open?: { rate: Profile; maxConnections: number; lateMs: number; drainMs: number };
  timeoutMs: number;
  /**
   * Offered at this multiple of what `max-gateway` measured earlier in the run (the open
   * model's rate is scaled to it): served and shed answers are reported apart.
   */
  overload?: number;
  orders?: OrderSetup;
}

/** What an order scenario buys: fresh deals for each run, and the requests made on them. */
export interface OrderSetup {
  deals: DealSpec[];
  requests(deals: SeededDeal[]): RequestSpec[];
  /** Refusals the scenario provokes (a deal sold out): counted by reason, not as errors. */
  refusals: string[];
  /** Also run against a stack with ORDER_BATCHING=off (one transaction per order), for the ratio. */
  unbatched?: boolean;
  /** Report how much later the last accepted order was sent than the first refused one. */
  fairness?: boolean;
}

export type Scale = "full" | "quick" | "tiny";

/** The order scenarios make their own deals and users; the others read the seeded catalog. */
export const ORDER_SCENARIO_NAMES = ["order-spike", "sell-out", "sale", "order-rate"];
export const SCENARIO_NAMES = ["spike", "spike-deals", "arrival", "max-gateway", "max-direct", "max-nginx", "max-db-read", "login-storm", "overload", ...ORDER_SCENARIO_NAMES];

/** What `overload` assumes `max-gateway` does when it did not run before it (the README's last median). */
export const ASSUMED_MAX_GATEWAY_RPS = 25_000;

const seconds = (s: number) => s * 1000;
const THINK_MS = 50;
const TIMEOUT_MS = 10_000;

/** Durations in seconds for each scale: [ramp up, hold, ramp down] and so on. */
const DURATIONS: Record<Scale, { spike: [number, number, number]; arrival: [number, number]; max: number; logins: number; overload: [number, number]; orderSpike: [number, number, number]; sellOut: number; sale: number; orderRate: number }> = {
  full: { spike: [30, 30, 10], arrival: [10, 30], max: 20, logins: 20, overload: [5, 20], orderSpike: [10, 30, 5], sellOut: 20, sale: 20, orderRate: 30 },
  quick: { spike: [6, 6, 2], arrival: [3, 6], max: 4, logins: 4, overload: [2, 4], orderSpike: [2, 3, 1], sellOut: 2, sale: 3, orderRate: 3 },
  tiny: { spike: [0.5, 1, 0.3], arrival: [0.5, 1], max: 1, logins: 1, overload: [0.5, 1], orderSpike: [1, 1, 0.3], sellOut: 0.6, sale: 1, orderRate: 0.5 },
};

/** Everyone signs in as the deal opens: each of these users logs in again as soon as answered (after the think time). */
const LOGIN_STORM_USERS = 64;

/** The overload scenario's open-model rate, offered at `rps`: a ramp, then held. */
export function overloadRate(scale: Scale, rps: number): Profile {
  const d = DURATIONS[scale].overload;
  return { start: Math.round(rps / 10), stages: [{ durationMs: seconds(d[0]), target: rps }, { durationMs: seconds(d[1]), target: rps }] };
}

/**
 * Units on sale. The sell-out deal keeps its 5,000 units down to `quick` (it sells out in the
 * first half second either way); a sale's deals shrink with its duration so that they still
 * sell out part way through. Deals that must not run out get more units than any run can buy.
 */
const UNITS: Record<Scale, { sellOut: number; sale: number }> = {
  full: { sellOut: 5000, sale: 1000 },
  quick: { sellOut: 5000, sale: 200 },
  tiny: { sellOut: 1000, sale: 40 },
};
const PLENTY = 2_000_000;
/** What a sold-out deal is refused with: sold out (from memory) or not enough left. */
const SOLD_OUT = ["400 DEAL_NOT_ACTIVE", "400 INSUFFICIENT_STOCK"];

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** One unit of one deal, as each user's own order. */
const orderOf = (deal: SeededDeal, weight: number): RequestSpec => ({
  weight,
  method: "POST",
  path: "/orders",
  body: JSON.stringify({ items: [{ product_id: deal.product_id, deal_id: deal.id, quantity: 1 }] }),
  perUser: true,
});

const flat = (rate: number, durationS: number): Profile => ({ start: rate, stages: [{ durationMs: seconds(durationS), target: rate }] });
const OPEN = { maxConnections: 500, lateMs: 10, drainMs: 2000 };

/** One spec per token with the weight split between them, so every user's token is used. */
const withTokens = (tokens: string[], path: string, weight: number): RequestSpec[] =>
  tokens.map((t) => ({ weight: weight / tokens.length, method: "GET", path, headers: bearer(t) }));

export function scenarios(scale: Scale, seeded: Seeded, withNginx: boolean): Scenario[] {
  const d = DURATIONS[scale];
  const spikeUsers: Profile = { start: 1, stages: [{ durationMs: seconds(d.spike[0]), target: 100 }, { durationMs: seconds(d.spike[1]), target: 100 }, { durationMs: seconds(d.spike[2]), target: 0 }] };
  const maxUsers: Profile = { start: 100, stages: [{ durationMs: seconds(d.max), target: 100 }] };
  const deals = withTokens(seeded.tokens, "/products/deals", 1);
  const max = (name: string, target: TargetName, description: string, requests: RequestSpec[]): Scenario => ({
    name,
    description,
    target,
    requests,
    closed: { users: maxUsers, thinkMs: 0 },
    timeoutMs: TIMEOUT_MS,
  });
  const list: Scenario[] = [
    {
      name: "spike",
      description: "published mix: 70 % GET /products?page=1&size=20, 30 % GET /auth/users/me with a token; VUs 1 → 100 → 0, 50 ms think time",
      target: "gateway",
      requests: [{ weight: 0.7, method: "GET", path: "/products?page=1&size=20" }, ...withTokens(seeded.tokens, "/auth/users/me", 0.3)],
      closed: { users: spikeUsers, thinkMs: THINK_MS },
      timeoutMs: TIMEOUT_MS,
    },
    {
      name: "spike-deals",
      description: "the same spike on GET /products/deals with a token",
      target: "gateway",
      requests: deals,
      closed: { users: spikeUsers, thinkMs: THINK_MS },
      timeoutMs: TIMEOUT_MS,
    },
    {
      name: "arrival",
      description: "open model on GET /products/deals with a token: 100 → 10,000 req/s, then held; latency from each request's due time",
      target: "gateway",
      requests: deals,
      open: {
        rate: { start: 100, stages: [{ durationMs: seconds(d.arrival[0]), target: 10_000 }, { durationMs: seconds(d.arrival[1]), target: 10_000 }] },
        maxConnections: 500,
        lateMs: 10,
        drainMs: 2000,
      },
      timeoutMs: TIMEOUT_MS,
    },
    max("max-gateway", "gateway", "closed loop, 100 connections, no think time: GET /products/deals through the gateway, token verified", deals),
    max(
      "max-db-read",
      "gateway",
      "the same through the gateway on GET /products/{id} over the seeded products: one database read per request",
      seeded.productIds.map((id) => ({ weight: 1 / seeded.productIds.length, method: "GET", path: `/products/${id}` })),
    ),
    max("max-direct", "product", "the same, straight to the product service (no gateway, no token)", [{ weight: 1, method: "GET", path: "/products/deals" }]),
  ];
  list.push({
    name: "login-storm",
    description: `${LOGIN_STORM_USERS} users at once each POST /auth/login of a seeded user through the gateway, again and again (${THINK_MS} ms think time)`,
    target: "gateway",
    requests: seeded.logins.map((l) => ({ weight: 1, method: "POST", path: "/auth/login", body: JSON.stringify(l) })),
    closed: { users: { start: LOGIN_STORM_USERS, stages: [{ durationMs: seconds(d.logins), target: LOGIN_STORM_USERS }] }, thinkMs: THINK_MS },
    timeoutMs: TIMEOUT_MS,
  });
  if (withNginx) list.push(max("max-nginx", "nginx", "the same through nginx proxying to the product service with a keep-alive pool, no auth", [{ weight: 1, method: "GET", path: "/products/deals" }]));
  list.push({
    name: "overload",
    description: "open model on GET /products/deals with a token at 3× the rate max-gateway measured (ramp, then held): what the gateway served and at what p99, what it shed (503 with Retry-After) and how fast",
    target: "gateway",
    requests: deals,
    open: { rate: overloadRate(scale, 3 * ASSUMED_MAX_GATEWAY_RPS), maxConnections: 2000, lateMs: 10, drainMs: 2000 },
    timeoutMs: TIMEOUT_MS,
    overload: 3,
  });
  list.push(...orderScenarios(scale));
  return list;
}

function orderScenarios(scale: Scale): Scenario[] {
  const d = DURATIONS[scale];
  const u = UNITS[scale];
  const oneDeal = (deals: SeededDeal[]) => [orderOf(deals[0]!, 1)];
  return [
    {
      name: "order-spike",
      description: "the original's order test: VUs 10 → 500 → 0, no think time, each its own user, POST /orders of one unit of a live deal with stock to spare; beside it the same on a stack with ORDER_BATCHING=off",
      target: "gateway",
      requests: [],
      closed: { users: { start: 10, stages: [{ durationMs: seconds(d.orderSpike[0]), target: 500 }, { durationMs: seconds(d.orderSpike[1]), target: 500 }, { durationMs: seconds(d.orderSpike[2]), target: 0 }] }, thinkMs: 0 },
      timeoutMs: TIMEOUT_MS,
      orders: { deals: [{ stock: PLENTY, maxPerUser: null }], requests: oneDeal, refusals: [], unbatched: true },
    },
    {
      name: "sell-out",
      description: `open model, 10,000 orders/s on one deal of ${u.sellOut.toLocaleString("en-US")} units with max_per_user 1, every request another user`,
      target: "gateway",
      requests: [],
      open: { rate: flat(10_000, d.sellOut), ...OPEN },
      timeoutMs: TIMEOUT_MS,
      orders: { deals: [{ stock: u.sellOut, maxPerUser: 1 }], requests: oneDeal, refusals: SOLD_OUT, fairness: true },
    },
    {
      name: "sale",
      description: `open model, 10,000 req/s of a sale: 80 % GET /products/deals, 10 % GET /products/deals/{id}, 10 % POST /orders over 5 deals of ${u.sale.toLocaleString("en-US")} units, until they sell out and after`,
      target: "gateway",
      requests: [],
      open: { rate: flat(10_000, d.sale), ...OPEN },
      timeoutMs: TIMEOUT_MS,
      orders: {
        deals: Array.from({ length: 5 }, () => ({ stock: u.sale, maxPerUser: null })),
        requests: (deals) => [
          { weight: 0.8, method: "GET", path: "/products/deals" },
          ...deals.map((deal): RequestSpec => ({ weight: 0.1 / deals.length, method: "GET", path: `/products/deals/${deal.id}` })),
          ...deals.map((deal) => orderOf(deal, 0.1 / deals.length)),
        ],
        refusals: SOLD_OUT,
      },
    },
    {
      name: "order-rate",
      description: "open model, 5,000 orders/s of one unit of a live deal with stock to spare, every request another user; latency from each request's due time",
      target: "gateway",
      requests: [],
      open: { rate: flat(5_000, d.orderRate), ...OPEN },
      timeoutMs: TIMEOUT_MS,
      orders: { deals: [{ stock: PLENTY, maxPerUser: null }], requests: oneDeal, refusals: [] },
    },
  ];
}

/**
 * The original's order load test: 500 VUs without think time on POST /orders, with stock
 * taken in Redis and orders written asynchronously, so an order already answered could be lost.
 */
export const ORIGINAL_ORDERS = { stage: "original: stock in Redis, orders written asynchronously (an answered order could be lost)", rps: 2668, p95_ms: 162 };

/** Where the original system's figures were published. */
export const ORIGINAL_SOURCE = "the public flash-deals project's deal-traffic-spike write-up (its k6 spike test of the FastAPI gateway, the pooled client and Kong)";

/** Figures of the original Python system, from that write-up, printed beside ours. */
export const ORIGINAL = [
  { stage: "FastAPI gateway, a new HTTP client per request", rps: 133, p95_ms: 1089, mean_ms: 486, errors_pct: 0, gateway_cpu: 101 },
  { stage: "same, one pooled client (100 connections, 20 keep-alive)", rps: 498, p95_ms: 295, mean_ms: 95, errors_pct: 0, gateway_cpu: 101 },
  { stage: "Kong (nginx based, declarative, DB-less)", rps: 982, p95_ms: 129, mean_ms: 23, errors_pct: 0, gateway_cpu: 33 },
];

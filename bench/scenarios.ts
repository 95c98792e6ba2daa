/**
 * The scenarios `bun bench` runs, at full scale (the original system's published load test) or scaled down in time
 * for `--quick` and for the bench's own test. Rates and user counts stay as published; only
 * the durations shrink, so a quick run still shows whether the system keeps up.
 */
import type { Profile } from "./loadgen/profile.ts";
import type { RequestSpec } from "./loadgen/request-mix.ts";

export type TargetName = "gateway" | "product" | "nginx";

export interface Scenario {
  name: string;
  description: string;
  target: TargetName;
  requests: RequestSpec[];
  closed?: { users: Profile; thinkMs: number };
  open?: { rate: Profile; maxConnections: number; lateMs: number; drainMs: number };
  timeoutMs: number;
  /**
   * Offered at this multiple of what `max-gateway` measured earlier in the run (the open
   * model's rate is scaled to it): served and shed answers are reported apart.
   */
  overload?: number;
}

export type Scale = "full" | "quick" | "tiny";

export const SCENARIO_NAMES = ["spike", "spike-deals", "arrival", "max-gateway", "max-direct", "max-nginx", "max-db-read", "login-storm", "overload"];

/** What `overload` assumes `max-gateway` does when it did not run before it (the README's last median). */
export const ASSUMED_MAX_GATEWAY_RPS = 25_000;

export interface Seeded {
  /** Access tokens of seeded users; requests rotate over them. */
  tokens: string[];
  /** Seeded products, for reads by id (one database query each). */
  productIds: string[];
  /** The seeded users' credentials, for the login storm. */
  logins: { email: string; password: string }[];
}

const seconds = (s: number) => s * 1000;
const THINK_MS = 50;
const TIMEOUT_MS = 10_000;

/** Durations in seconds for each scale: [ramp up, hold, ramp down] and so on. */
const DURATIONS: Record<Scale, { spike: [number, number, number]; arrival: [number, number]; max: number; logins: number; overload: [number, number] }> = {
  full: { spike: [30, 30, 10], arrival: [10, 30], max: 20, logins: 20, overload: [5, 20] },
  quick: { spike: [6, 6, 2], arrival: [3, 6], max: 4, logins: 4, overload: [2, 4] },
  tiny: { spike: [0.5, 1, 0.3], arrival: [0.5, 1], max: 1, logins: 1, overload: [0.5, 1] },
};

/** Everyone signs in as the deal opens: each of these users logs in again as soon as answered (after the think time). */
const LOGIN_STORM_USERS = 64;

/** The overload scenario's open-model rate, offered at `rps`: a ramp, then held. */
export function overloadRate(scale: Scale, rps: number): Profile {
  const d = DURATIONS[scale].overload;
  return { start: Math.round(rps / 10), stages: [{ durationMs: seconds(d[0]), target: rps }, { durationMs: seconds(d[1]), target: rps }] };
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

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
  return list;
}

/** Where the original system's figures were published. */
export const ORIGINAL_SOURCE = "the public flash-deals project's deal-traffic-spike write-up (its k6 spike test of the FastAPI gateway, the pooled client and Kong)";

/** Figures of the original Python system, from that write-up, printed beside ours. */
export const ORIGINAL = [
  { stage: "FastAPI gateway, a new HTTP client per request", rps: 133, p95_ms: 1089, mean_ms: 486, errors_pct: 0, gateway_cpu: 101 },
  { stage: "same, one pooled client (100 connections, 20 keep-alive)", rps: 498, p95_ms: 295, mean_ms: 95, errors_pct: 0, gateway_cpu: 101 },
  { stage: "Kong (nginx based, declarative, DB-less)", rps: 982, p95_ms: 129, mean_ms: 23, errors_pct: 0, gateway_cpu: 33 },
];

/**
 * The base every service's Elysia app is built on: request ids, the contract's error shape
 * for every failure, a body size limit, input no service can store refused, and the health routes.
 */
import { Elysia } from "elysia";
import { ApiError, apiErrorResponse, errorResponse, validationError } from "./errors.ts";
import { isDatabaseUnavailable } from "./database-unavailable.ts";
import { describeError, type Logger } from "./log.ts";
import { createServiceMetrics, metricsResponse, type ServiceMetrics } from "./metrics.ts";
import type { ServiceSettings } from "./config.ts";
import { requestIdOf } from "./request-id.ts";
import { unstorableInput } from "./storable-input.ts";
import { createTracer, newSpanId, nowMs, traceContextOf, type Tracer } from "./tracing.ts";

/** What every service's app is given, whatever else it needs. */
export interface ServiceRuntime {
  log: Logger;
  metrics: ServiceMetrics;
  bodyLimit: number;
  /** Requests slower than this are logged at warn. */
  slowRequestMs: number;
  tracer: Tracer | null;
}

export interface ServiceAppOptions extends ServiceRuntime {
  /** The name `/health` reports, e.g. "auth-service". */
  service: string;
  /** The contract's path prefix of this service, e.g. "/auth": health is served there too. */
  prefix?: string;
  /** Readiness for load balancers: what the service needs to serve, each checked. */
  readiness?: () => Promise<Readiness>;
  /** Serve `/metrics` here (default); the gateway serves it on its admin listener instead. */
  metricsRoute?: boolean;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, unknown>;
}

interface ValidationIssue {
  path: string;
  message: string;
  summary?: string;
  /** The schema's own sentence for a value that does not fit it (its `error` option). */
  schema?: { error?: unknown };
}

/**
 * Elysia's validation error, reduced to the field the client got wrong and a sentence: the
 * schema's own words when it has them ("size must be an integer from 1 to 100"), else
 * TypeBox's description of the rule, prefixed with the field.
 */
function validationDetails(error: unknown): { field: string; message: string } {
  const e = error as { type?: string; all?: ValidationIssue[] };
  const first = e.all?.find((i) => i.path) ?? e.all?.[0];
  const field = first?.path ? first.path.replace(/^\//, "").replace(/\//g, ".") : (e.type ?? "body");
  const own = first?.schema?.error;
  if (typeof own === "string") return { field, message: own };
  return { field, message: `Invalid ${field}: ${first?.summary ?? first?.message ?? "Invalid input"}` };
}

/** An answered request, as every service records it. */
export interface AnsweredRequest {
  /** The route's path; undefined when none matched. */
  route: string | undefined;
  method: string;
  status: number;
  /** `performance.now()` when it arrived. */
  startedAt: number;
  requestId: string;
  traceparent: string | null;
}

/** What every answered request leaves: its metric, its span (with tracing on), a warn line when slow. */
export function observeRequest(runtime: ServiceRuntime, r: AnsweredRequest): void {
  const ms = performance.now() - r.startedAt;
  runtime.metrics.observe(r.route ?? "(unmatched)", r.method, r.status, ms / 1000);
  if (runtime.tracer)
    runtime.tracer.record({
      name: `${r.method} ${r.route ?? "(unmatched)"}`,
      kind: "server",
      context: traceContextOf(r.traceparent),
      spanId: newSpanId(),
      startMs: performance.timeOrigin + r.startedAt,
      endMs: nowMs(),
      attributes: { "http.request.method": r.method, "http.route": r.route ?? "", "http.response.status_code": r.status, "request.id": r.requestId },
      error: r.status >= 500,
    });
  if (ms >= runtime.slowRequestMs) runtime.log.warn("slow request", { requestId: r.requestId, method: r.method, route: r.route, status: r.status, ms: Math.round(ms) });
}

export function createServiceApp(options: ServiceAppOptions) {
  const health = JSON.stringify({ status: "healthy", service: options.service });
  const healthResponse = () => new Response(health, { headers: { "content-type": "application/json" } });
  const started = new WeakMap<Request, number>();
  const app = new Elysia({ name: options.service, handler: { standardHostname: false } })
    .derive({ as: "global" }, ({ request, set }) => {
      const requestId = requestIdOf(request.headers);
      set.headers["x-request-id"] = requestId;
      return { requestId };
    })
    .onRequest(({ request }) => {
      started.set(request, performance.now());
      const length = request.headers.get("content-length");
      if (length !== null && Number(length) > options.bodyLimit) {
        options.metrics.observe("(body too large)", request.method, 413, 0);
        return errorResponse("PAYLOAD_TOO_LARGE", `Request body is larger than ${options.bodyLimit} bytes`, { limit: options.bodyLimit }, { "x-request-id": requestIdOf(request.headers) });
      }
    })
    // Before validation and every route: a NUL or a deep nest never reaches either.
    .onTransform({ as: "global" }, ({ body, query }) => {
      const problem = unstorableInput(body, "body") ?? unstorableInput(query, "query");
      if (problem) throw validationError(problem.field, problem.message);
    })
    .onAfterResponse({ as: "global" }, ({ route, request, set, responseValue }) => {
      observeRequest(options, {
        route,
        method: request.method,
        // No route matched: Elysia answered 404 through the error hook.
        status: route === undefined ? 404 : responseValue instanceof Response ? responseValue.status : Number(set.status),
        startedAt: started.get(request) ?? performance.now(),
        requestId: String(set.headers["x-request-id"] ?? ""),
        traceparent: request.headers.get("traceparent"),
      });
    })
    .onError({ as: "global" }, ({ code, error, request, set }) => {
      const requestId = (set.headers["x-request-id"] as string | undefined) ?? requestIdOf(request.headers);
      const headers = { "x-request-id": requestId };
      let response: Response;
      if (error instanceof ApiError) {
        response = apiErrorResponse(error);
      } else if (code === "VALIDATION") {
        const { field, message } = validationDetails(error);
        response = errorResponse("VALIDATION_ERROR", message, { field });
      } else if (code === "PARSE") {
        response = errorResponse("VALIDATION_ERROR", "The body is not valid JSON", { field: "body" });
      } else if (code === "NOT_FOUND") {
        response = errorResponse("NOT_FOUND", "No such route");
      } else if (isDatabaseUnavailable(error)) {
        options.log.warn("database unavailable", { requestId, path: new URL(request.url).pathname, ...describeError(error) });
        response = errorResponse("UNAVAILABLE", "The service cannot reach its database; try again shortly");
      } else {
        options.log.error("unhandled error", { requestId, method: request.method, path: new URL(request.url).pathname, ...describeError(error) });
        response = errorResponse("INTERNAL_ERROR", "Internal error");
      }
      for (const [k, v] of Object.entries(headers)) response.headers.set(k, v);
      return response;
    })
    .get("/health", healthResponse)
    .get(`${options.prefix ?? ""}/health`, healthResponse)
    .get("/ready", async () => {
      const r = options.readiness ? await options.readiness() : { ready: true, checks: {} };
      if (r.ready) return { status: "ready", service: options.service, checks: r.checks };
      return errorResponse("UNAVAILABLE", `${options.service} is not ready`, r.checks);
    });
  // Elysia's route methods add to the instance they are called on.
  if (options.metricsRoute !== false) app.get("/metrics", () => metricsResponse(options.metrics));
  return app;
}

/** The runtime a service's main builds from its settings. */
export const serviceRuntime = (service: string, s: ServiceSettings, log: Logger): ServiceRuntime => ({
  log,
  metrics: createServiceMetrics(service),
  bodyLimit: s.bodyLimit,
  slowRequestMs: s.slowRequestMs,
  tracer: createTracer(service, s.otlpEndpoint),
});

/**
 * The gateway's hot path: route lookup, token check, one request on a kept-alive upstream
 * connection, the upstream's answer passed back as it came.
 */
import { bearerToken } from "../lib/bearer.ts";
import { readBodyWithin } from "../lib/body-limit.ts";
import { ApiError, apiErrorResponse, errorResponse } from "../lib/errors.ts";
import { requestIdFrom } from "../lib/request-id.ts";
import type { TokenVerifier } from "../lib/token-verifier.ts";
import type { UpstreamError, UpstreamResponse } from "./http1-pool.ts";
import { routeOf, type Route, type UpstreamName } from "./route-table.ts";
import type { Logger } from "../lib/log.ts";
import type { ServiceMetrics } from "../lib/metrics.ts";
import { newSpanId, nowMs, traceContextOf, traceparentOf, type TraceContext, type Tracer } from "../lib/tracing.ts";
import type { Upstream } from "./upstream.ts";

export interface ProxyDeps {
  upstreams: Record<UpstreamName, Upstream>;
  verifier: TokenVerifier;
  bodyLimit: number;
  metrics: ServiceMetrics;
  tracer: Tracer | null;
  /** Requests slower than this get a warn line (the proxied routes skip the app's hooks). */
  slowRequestMs: number;
  log: Logger;
  onUpstreamError: (upstream: UpstreamName, e: UpstreamError, requestId: string) => void;
}

/**
 * Request headers that never go upstream: hop-by-hop ones (RFC 9110 §7.6.1), the ones the
 * gateway sets itself, and the ones services trust because only the gateway sets them.
 */
const DROPPED_REQUEST_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "expect",
  "host",
  "content-length",
  "x-request-id",
  "x-user-id",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-real-ip",
  "forwarded",
]);

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/** Where a proxied request's answer goes. */
export interface ProxyReply {
  /** The upstream's answer, to be passed on as it came; returns the status the client got. */
  upstream(r: UpstreamResponse, requestId: string): number;
  /** An answer of the gateway's own: an error in the contract's shape. */
  own(response: Response): void;
}

export interface Proxy {
  /** A request as Bun.serve or `app.handle()` has it. */
  handle(request: Request, clientIp: string): Promise<Response>;
  /**
   * A body-less GET or HEAD as the edge read it off the wire: `target` is the path and query
   * as sent, `headers` have lower-case names. False, with nothing done, when the path is not
   * one the gateway proxies.
   */
  forward(method: string, target: string, path: string, headers: Record<string, string>, clientIp: string, reply: ProxyReply): boolean;
}

export function createProxy(d: ProxyDeps): Proxy {
  /** The request as it goes upstream; null body for GET and HEAD. */
  const encoder = (method: string, target: string, given: Record<string, string>, requestId: string, clientIp: string, traceparent: string | null, userId: string | null, body: Uint8Array | null) => {
    let head = "";
    for (const name in given) if (!DROPPED_REQUEST_HEADERS.has(name) && !(traceparent !== null && name === "traceparent")) head += `${name}: ${given[name]}\r\n`;
    head += `x-request-id: ${requestId}\r\nx-forwarded-for: ${clientIp}\r\n`;
    if (traceparent !== null) head += `traceparent: ${traceparent}\r\n`;
    if (userId !== null) head += `x-user-id: ${userId}\r\n`;
    head += `content-length: ${body === null ? 0 : body.length}\r\nconnection: keep-alive\r\n\r\n`;
    return (host: string) => {
      const bytes = Buffer.from(`${method} ${target} HTTP/1.1\r\nhost: ${host}\r\n${head}`, "latin1");
      return body === null ? bytes : Buffer.concat([bytes, body]);
    };
  };

  const upstreamFailed = (route: Route, e: UpstreamError, requestId: string): Response => {
    d.onUpstreamError(route.upstream, e, requestId);
    const headers = { "x-request-id": requestId };
    if (e.kind === "timeout") return errorResponse("GATEWAY_TIMEOUT", `The ${route.upstream} service did not answer in time`, undefined, headers);
    return errorResponse("BAD_GATEWAY", `The ${route.upstream} service cannot be reached`, undefined, headers);
  };

  const failed = (e: unknown, requestId: string): Response => {
    const response = e instanceof ApiError ? apiErrorResponse(e) : errorResponse("INTERNAL_ERROR", "Internal error");
    if (!(e instanceof ApiError)) d.log.error("cannot read the request body", { requestId, error: String(e) });
    response.headers.set("x-request-id", requestId);
    return response;
  };

  /** The one place every proxied request ends: metrics, the slow-request log, the span. */
  const observe = (method: string, route: Route | null, started: number, requestId: string, trace: TraceContext | null, spanId: string, status: number): void => {
    const pattern = route?.pattern ?? "(unmatched)";
    const ms = performance.now() - started;
    d.metrics.observe(pattern, method, status, ms / 1000);
    if (ms >= d.slowRequestMs) d.log.warn("slow request", { requestId, method, route: pattern, status, ms: Math.round(ms) });
    if (trace)
      d.tracer!.record({
        name: `${method} ${pattern}`,
        kind: "server",
        context: trace,
        spanId,
        startMs: performance.timeOrigin + started,
        endMs: nowMs(),
        attributes: { "http.request.method": method, "http.route": pattern, "http.response.status_code": status, "request.id": requestId },
        error: status >= 500,
      });
  };

  // Errors are answered here, not by the app's error hook, so proxied routes need no hooks.
  const run = (method: string, target: string, route: Route | null, headers: Record<string, string>, clientIp: string, readBody: (() => Promise<Uint8Array | null>) | null, reply: ProxyReply): void => {
    const started = performance.now();
    const requestId = requestIdFrom(headers["x-request-id"]);
    // With tracing on, the gateway's span becomes the upstream's parent.
    const trace = d.tracer ? traceContextOf(headers.traceparent ?? null) : null;
    const spanId = trace ? newSpanId() : "";
    const own = (response: Response) => {
      observe(method, route, started, requestId, trace, spanId, response.status);
      reply.own(response);
    };
    if (route === null) return own(errorResponse("NOT_FOUND", "No such route", undefined, { "x-request-id": requestId }));

    let userId: string | null = null;
    const token = bearerToken(headers.authorization ?? null);
    if (token !== null) userId = d.verifier.verify(token)?.sub ?? null;
    if (!route.public && userId === null) {
      const e = token === null ? new ApiError("UNAUTHORIZED", "A bearer token is required") : new ApiError("INVALID_TOKEN", "The token is malformed, expired, of the wrong type or not signed by us");
      return own(failed(e, requestId));
    }

    const traceparent = trace ? traceparentOf(trace.traceId, spanId) : null;
    const upstream = d.upstreams[route.upstream];
    const send = (body: Uint8Array | null) =>
      upstream.send(
        encoder(method, target, headers, requestId, clientIp, traceparent, userId, body),
        method === "HEAD",
        IDEMPOTENT.has(method),
        route.hot && method === "GET" ? target : null,
        // These run inside the pool's read loop, which must not see a throw: the answers
        // behind this one in the same read would be lost.
        (r) => observe(method, route, started, requestId, trace, spanId, reply.upstream(r, requestId)),
        (e) => own(upstreamFailed(route, e, requestId)),
      );
    if (readBody === null) send(null);
    else readBody().then(send, (e) => own(failed(e, requestId)));
  };

  const fromUpstream = (upstream: UpstreamResponse, requestId: string): Response => {
    const headers = upstream.headers;
    if (!upstream.hasRequestId) headers.push(["x-request-id", requestId]);
    const status = upstream.status;
    const nullBody = status === 204 || status === 205 || status === 304 || upstream.body === null || upstream.body.length === 0;
    try {
      return new Response(nullBody ? null : upstream.body, { status, headers });
    } catch {
      // Bun refuses some answers a raw socket can carry, say a header value with a NUL.
      d.log.warn("upstream answer cannot be passed on", { requestId, status });
      return errorResponse("BAD_GATEWAY", "The upstream's answer cannot be passed on", undefined, { "x-request-id": requestId });
    }
  };

  return {
    handle: (request, clientIp) =>
      new Promise((resolve) => {
        const url = request.url;
        const method = request.method;
        const body = method === "GET" || method === "HEAD" ? null : () => readBodyWithin(request, d.bodyLimit);
        const target = url.slice(url.indexOf("/", url.indexOf("//") + 2));
        const query = target.indexOf("?");
        const route = routeOf(method, query === -1 ? target : target.slice(0, query));
        // One native call for all headers; iterating the Headers object allocates per entry.
        run(method, target, route, request.headers.toJSON(), clientIp, body, {
          upstream(r, requestId) {
            const response = fromUpstream(r, requestId);
            resolve(response);
            return response.status;
          },
          own: resolve,
        });
      }),
    forward(method, target, path, headers, clientIp, reply) {
      const route = routeOf(method, path);
      if (route === null) return false;
      run(method, target, route, headers, clientIp, null, reply);
      return true;
    },
  };
}

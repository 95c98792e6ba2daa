/**
 * The gateway's hot path: route lookup, token check, one request on a kept-alive upstream
 * connection, the upstream's answer passed back as it came.
 */
import { bearerToken } from "../lib/bearer.ts";
import { readBodyWithin } from "../lib/body-limit.ts";
import { ApiError, apiErrorResponse, errorResponse } from "../lib/errors.ts";
import { requestIdOf } from "../lib/request-id.ts";
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

export type Proxy = (request: Request, clientIp: string) => Promise<Response>;

export function createProxy(d: ProxyDeps): Proxy {
  /** The request as it goes upstream; null body for GET and HEAD. */
  const encoder = (request: Request, target: string, requestId: string, clientIp: string, traceparent: string | null, userId: string | null, body: Uint8Array | null) => {
    let head = "";
    // One native call for all headers; iterating the Headers object allocates per entry.
    const given = request.headers.toJSON();
    for (const name in given) if (!DROPPED_REQUEST_HEADERS.has(name) && !(traceparent !== null && name === "traceparent")) head += `${name}: ${given[name]}\r\n`;
    head += `x-request-id: ${requestId}\r\nx-forwarded-for: ${clientIp}\r\n`;
    if (traceparent !== null) head += `traceparent: ${traceparent}\r\n`;
    if (userId !== null) head += `x-user-id: ${userId}\r\n`;
    head += `content-length: ${body === null ? 0 : body.length}\r\nconnection: keep-alive\r\n\r\n`;
    const method = request.method;
    return (host: string) => {
      const bytes = Buffer.from(`${method} ${target} HTTP/1.1\r\nhost: ${host}\r\n${head}`, "latin1");
      return body === null ? bytes : Buffer.concat([bytes, body]);
    };
  };

  const fromUpstream = (upstream: UpstreamResponse, requestId: string): Response => {
    const headers = upstream.headers;
    if (!upstream.hasRequestId) headers.push(["x-request-id", requestId]);
    const status = upstream.status;
    const nullBody = status === 204 || status === 205 || status === 304 || upstream.body === null || upstream.body.length === 0;
    return new Response(nullBody ? null : upstream.body, { status, headers });
  };

  const upstreamFailed = (route: Route, e: UpstreamError, requestId: string): Response => {
    d.onUpstreamError(route.upstream, e, requestId);
    const headers = { "x-request-id": requestId };
    if (e.kind === "timeout") return errorResponse("GATEWAY_TIMEOUT", `The ${route.upstream} service did not answer in time`, undefined, headers);
    return errorResponse("BAD_GATEWAY", `The ${route.upstream} service cannot be reached`, undefined, headers);
  };

  const failed = (e: unknown, requestId: string): Response => {
    if (!(e instanceof ApiError)) throw e;
    const response = apiErrorResponse(e);
    response.headers.set("x-request-id", requestId);
    return response;
  };

  /** The one place every proxied request ends: metrics, the slow-request log, the span. */
  const answered = (request: Request, route: Route | null, started: number, requestId: string, trace: TraceContext | null, spanId: string, response: Response): Response => {
    const pattern = route?.pattern ?? "(unmatched)";
    const ms = performance.now() - started;
    d.metrics.observe(pattern, request.method, response.status, ms / 1000);
    if (ms >= d.slowRequestMs) d.log.warn("slow request", { requestId, method: request.method, route: pattern, status: response.status, ms: Math.round(ms) });
    if (trace)
      d.tracer!.record({
        name: `${request.method} ${pattern}`,
        kind: "server",
        context: trace,
        spanId,
        startMs: performance.timeOrigin + started,
        endMs: nowMs(),
        attributes: { "http.request.method": request.method, "http.route": pattern, "http.response.status_code": response.status, "request.id": requestId },
        error: response.status >= 500,
      });
    return response;
  };

  // Errors are answered here, not by the app's error hook, so proxied routes need no hooks.
  // No async functions: on a GET the promise returned is the only one.
  return (request, clientIp) => {
    const started = performance.now();
    const requestId = requestIdOf(request.headers);
    const url = request.url;
    const pathStart = url.indexOf("/", url.indexOf("//") + 2);
    const query = url.indexOf("?", pathStart);
    const method = request.method;
    const route = routeOf(method, query === -1 ? url.slice(pathStart) : url.slice(pathStart, query));
    // With tracing on, the gateway's span becomes the upstream's parent.
    const trace = d.tracer ? traceContextOf(request.headers.get("traceparent")) : null;
    const spanId = trace ? newSpanId() : "";
    const done = (response: Response) => answered(request, route, started, requestId, trace, spanId, response);
    if (route === null) return Promise.resolve(done(errorResponse("NOT_FOUND", "No such route", undefined, { "x-request-id": requestId })));

    let userId: string | null = null;
    const token = bearerToken(request.headers.get("authorization"));
    if (token !== null) userId = d.verifier.verify(token)?.sub ?? null;
    if (!route.public && userId === null) {
      const e = token === null ? new ApiError("UNAUTHORIZED", "A bearer token is required") : new ApiError("INVALID_TOKEN", "The token is malformed, expired, of the wrong type or not signed by us");
      return Promise.resolve(done(failed(e, requestId)));
    }

    const traceparent = trace ? traceparentOf(trace.traceId, spanId) : null;
    const upstream = d.upstreams[route.upstream];
    const target = url.slice(pathStart);
    const batchKey = route.hot && method === "GET" ? target : null;
    const send = (body: Uint8Array | null) =>
      new Promise<Response>((resolve, reject) => {
        // These run inside the pool's read loop, which must not see a throw (the answers
        // behind this one in the same read would be lost): an answer Bun cannot turn into a
        // Response, say a header value it refuses, rejects this request alone.
        const settle = (answer: () => Response) => {
          try {
            resolve(done(answer()));
          } catch (e) {
            reject(e);
          }
        };
        upstream.send(
          encoder(request, target, requestId, clientIp, traceparent, userId, body),
          method === "HEAD",
          IDEMPOTENT.has(method),
          batchKey,
          (r) => settle(() => fromUpstream(r, requestId)),
          (e) => settle(() => upstreamFailed(route, e, requestId)),
        );
      });
    if (method === "GET" || method === "HEAD") return send(null);
    return readBodyWithin(request, d.bodyLimit).then(send, (e) => done(failed(e, requestId)));
  };
}

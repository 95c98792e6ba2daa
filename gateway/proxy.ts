/**
 * The gateway's hot path: route lookup, token check, one request on a kept-alive upstream
 * connection, the upstream's answer passed back as it came.
 */
import { bearerToken } from "../lib/bearer.ts";
import { readBodyWithin } from "../lib/body-limit.ts";
import { ApiError, apiErrorResponse, errorResponse } from "../lib/errors.ts";
import { requestIdFrom } from "../lib/request-id.ts";
import type { TokenVerifier } from "../lib/token-verifier.ts";
import type { UpstreamAnswer, UpstreamError } from "./upstream/answer.ts";
import { routeOf, type Route, type UpstreamName } from "./route-table.ts";
import type { Logger } from "../lib/log.ts";
import type { ServiceMetrics } from "../lib/metrics.ts";
import { newSpanId, nowMs, traceContextOf, traceparentOf, type TraceContext, type Tracer } from "../lib/tracing.ts";
import { UpstreamCall, type Upstream } from "./upstream/balancer.ts";
import { encodeRequest, type OutgoingRequest } from "./upstream/request-encoding.ts";
import { clientRequestOf, type ClientRequest } from "./client-request.ts";
import type { RateLimits } from "./config.ts";
import { TokenBuckets } from "./rate-limiter.ts";

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
  /** Token buckets for protected writes; absent: no limit. */
  rateLimits?: RateLimits;
  onRateLimited?: (limit: "subject" | "address") => void;
}

const UNAUTHORIZED = new ApiError("UNAUTHORIZED", "A bearer token is required");
const INVALID_TOKEN = new ApiError("INVALID_TOKEN", "The token is malformed, expired, of the wrong type or not signed by us");

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/** Where a proxied request's answer goes. */
export interface AnswerSink {
  /** The upstream's answer, to be passed on as it came; returns the status the client got. */
  fromUpstream(answer: UpstreamAnswer, requestId: string): number;
  /** An answer of the gateway's own: an error in the contract's shape. */
  own(response: Response): void;
}

/** Where the edge hands a write's body once it has read it. */
export interface BodySink {
  send(body: Uint8Array): void;
}

export interface RequestProxy {
  /** A request as Bun.serve or `app.handle()` has it. */
  handle(request: Request, clientIp: string): Promise<Response>;
  /**
   * A body-less GET or HEAD as the edge read it off the wire. False, with nothing done, when
   * the path is not one the gateway proxies.
   */
  forward(request: ClientRequest, clientIp: string, reply: AnswerSink): boolean;
  /**
   * A write whose head the edge read, admitted on route, token and rate limits before its body
   * is read: false, with nothing done, when the path is not one the gateway proxies; null when
   * it has been answered (refused); else where its body goes.
   */
  begin(request: ClientRequest, clientIp: string, reply: AnswerSink): BodySink | null | false;
  /** The gateway's refusal of a request on route and token alone (404, 401), or null when it would go upstream. */
  refusal(method: string, path: string, authorization: string | null, requestId: string): Response | null;
}

export function createProxy(d: ProxyDeps): RequestProxy {
  const gateway = new GatewayProxy(d);
  return {
    handle: (request, clientIp) => gateway.handle(request, clientIp),
    forward: (request, clientIp, reply) => gateway.forward(request, clientIp, reply),
    begin: (request, clientIp, reply) => gateway.begin(request, clientIp, reply),
    refusal: (method, path, authorization, requestId) => gateway.refusal(method, path, authorization, requestId),
  };
}

/**
 * One proxied request from start to answer: its record, its upstream call and its callbacks
 * in one object, the only one the gateway allocates for it besides its strings.
 */
class Exchange extends UpstreamCall implements OutgoingRequest {
  readonly started = performance.now();
  readonly requestId: string;
  readonly trace: TraceContext | null;
  readonly spanId: string;
  readonly headOnly: boolean;
  readonly idempotent: boolean;
  readonly batchKey: string | null;
  userId: string | null = null;
  body: Uint8Array | null = null;

  readonly method: string;

  constructor(
    private readonly gateway: GatewayProxy,
    readonly request: ClientRequest,
    readonly route: Route | null,
    readonly clientIp: string,
    private readonly reply: AnswerSink,
  ) {
    super();
    const method = request.method;
    this.method = method;
    this.requestId = requestIdFrom(request.requestId);
    // With tracing on, the gateway's span becomes the upstream's parent.
    this.trace = gateway.tracer ? traceContextOf(request.traceparent) : null;
    this.spanId = this.trace ? newSpanId() : "";
    this.headOnly = method === "HEAD";
    this.idempotent = IDEMPOTENT.has(method);
    this.batchKey = route !== null && route.hot && method === "GET" ? request.target : null;
  }

  get target(): string {
    return this.request.target;
  }

  get headerLines(): string {
    return this.request.headerLines;
  }

  get traceparent(): string | null {
    return this.trace ? traceparentOf(this.trace.traceId, this.spanId) : this.request.traceparent;
  }

  encode(host: string): Uint8Array {
    return encodeRequest(this, host);
  }

  // Runs inside the pool's read loop, which must not see a throw: the answers behind this
  // one in the same read would be lost.
  onAnswer(answer: UpstreamAnswer): void {
    this.gateway.observe(this, this.reply.fromUpstream(answer, this.requestId));
  }

  gaveUp(e: UpstreamError): void {
    this.own(this.gateway.upstreamFailed(this.route!, e, this.requestId));
  }

  own(response: Response): void {
    this.gateway.observe(this, response.status);
    this.reply.own(response);
  }

  /** Sends the request upstream once its body is read. */
  send(body: Uint8Array | null): void {
    this.body = body;
    this.gateway.upstreams[this.route!.upstream].send(this);
  }
}

class GatewayProxy {
  readonly tracer: Tracer | null;
  readonly upstreams: Record<UpstreamName, Upstream>;

  private readonly bySubject: TokenBuckets | null;
  private readonly byAddress: TokenBuckets | null;

  constructor(private readonly d: ProxyDeps) {
    this.tracer = d.tracer;
    this.upstreams = d.upstreams;
    const r = d.rateLimits;
    this.bySubject = r ? new TokenBuckets(r.subjectPerSecond, r.subjectBurst) : null;
    this.byAddress = r ? new TokenBuckets(r.addressPerSecond, r.addressBurst) : null;
  }

  handle(request: Request, clientIp: string): Promise<Response> {
    return new Promise((resolve) => {
      const url = request.url;
      const method = request.method;
      // Without a Host (HTTP/1.0), Bun's url is the target alone.
      const target = url.charCodeAt(0) === 47 ? url : url.slice(url.indexOf("/", url.indexOf("//") + 2));
      const query = target.indexOf("?");
      const path = query === -1 ? target : target.slice(0, query);
      const route = routeOf(method, path);
      const reply: AnswerSink = {
        fromUpstream: (answer, requestId) => {
          const response = this.responseOf(answer, requestId);
          resolve(response);
          return response.status;
        },
        own: resolve,
      };
      // One native call for all headers; iterating the Headers object allocates per entry.
      const clientRequest = clientRequestOf(method, target, path, request.headers.toJSON());
      const exchange = new Exchange(this, clientRequest, route, clientIp, reply);
      if (!this.admit(exchange)) return;
      if (method === "GET" || method === "HEAD") return exchange.send(null);
      readBodyWithin(request, this.d.bodyLimit).then(
        (body) => exchange.send(body),
        (e) => exchange.own(e instanceof ApiError ? this.failed(e, exchange.requestId) : this.clientGone(exchange.requestId)),
      );
    });
  }

  refusal(method: string, path: string, authorization: string | null, requestId: string): Response | null {
    const route = routeOf(method, path);
    const headers = { "x-request-id": requestId };
    if (route === null) return errorResponse("NOT_FOUND", "No such route", undefined, headers);
    if (route.public) return null;
    const token = bearerToken(authorization);
    if (token !== null && this.d.verifier.verify(token) !== null) return null;
    const e = token === null ? UNAUTHORIZED : INVALID_TOKEN;
    return errorResponse(e.code, e.message, undefined, headers);
  }

  forward(request: ClientRequest, clientIp: string, reply: AnswerSink): boolean {
    const route = routeOf(request.method, request.path);
    if (route === null) return false;
    const exchange = new Exchange(this, request, route, clientIp, reply);
    if (this.admit(exchange)) exchange.send(null);
    return true;
  }

  begin(request: ClientRequest, clientIp: string, reply: AnswerSink): BodySink | null | false {
    const route = routeOf(request.method, request.path);
    if (route === null) return false;
    const exchange = new Exchange(this, request, route, clientIp, reply);
    return this.admit(exchange) ? exchange : null;
  }

  /**
   * Route and token: whether the request may go upstream; if not, it has been answered.
   * Errors are answered here, not by the app's error hook, so proxied routes need no hooks.
   */
  private admit(x: Exchange): boolean {
    if (x.route === null) {
      x.own(errorResponse("NOT_FOUND", "No such route", undefined, { "x-request-id": x.requestId }));
      return false;
    }
    const token = bearerToken(x.request.authorization);
    if (token !== null) x.userId = this.d.verifier.verify(token)?.sub ?? null;
    if (!x.route.public && x.userId === null) {
      x.own(this.failed(token === null ? UNAUTHORIZED : INVALID_TOKEN, x.requestId));
      return false;
    }
    // Protected writes, from the app or the edge's fast lane, are rate limited per subject and per address.
    if (!x.route.public && x.method !== "GET" && x.method !== "HEAD" && this.bySubject !== null) {
      const now = Date.now();
      const bySubject = this.bySubject.take(x.userId!, now);
      const wait = bySubject || this.byAddress!.take(x.clientIp, now);
      if (wait > 0) {
        this.d.onRateLimited?.(bySubject > 0 ? "subject" : "address");
        x.own(errorResponse("RATE_LIMITED", "Too many writes; try again shortly", { retry_after_seconds: wait }, { "x-request-id": x.requestId, "retry-after": String(wait) }));
        return false;
      }
    }
    return true;
  }

  upstreamFailed(route: Route, e: UpstreamError, requestId: string): Response {
    this.d.onUpstreamError(route.upstream, e, requestId);
    const headers = { "x-request-id": requestId };
    if (e.kind === "timeout") return errorResponse("GATEWAY_TIMEOUT", `The ${route.upstream} service did not answer in time`, undefined, headers);
    return errorResponse("BAD_GATEWAY", `The ${route.upstream} service cannot be reached`, undefined, headers);
  }

  /**
   * The body could not be read: the client went away mid-body (its connection closed). Not
   * the gateway's error: counted as nginx's 499, logged at debug; nobody reads the answer.
   */
  private clientGone(requestId: string): Response {
    this.d.log.debug("client closed the connection before its body was read", { requestId });
    return new Response(null, { status: 499, headers: { "x-request-id": requestId } });
  }

  private failed(e: unknown, requestId: string): Response {
    const response = e instanceof ApiError ? apiErrorResponse(e) : errorResponse("INTERNAL_ERROR", "Internal error");
    if (!(e instanceof ApiError)) this.d.log.error("cannot read the request body", { requestId, error: String(e) });
    response.headers.set("x-request-id", requestId);
    return response;
  }

  /** The one place every proxied request ends: metrics, the slow-request log, the span. */
  observe(x: Exchange, status: number): void {
    const pattern = x.route?.pattern ?? "(unmatched)";
    const ms = performance.now() - x.started;
    this.d.metrics.observe(pattern, x.method, status, ms / 1000);
    if (ms >= this.d.slowRequestMs) this.d.log.warn("slow request", { requestId: x.requestId, method: x.method, route: pattern, status, ms: Math.round(ms) });
    if (x.trace)
      this.tracer!.record({
        name: `${x.method} ${pattern}`,
        kind: "server",
        context: x.trace,
        spanId: x.spanId,
        startMs: performance.timeOrigin + x.started,
        endMs: nowMs(),
        attributes: { "http.request.method": x.method, "http.route": pattern, "http.response.status_code": status, "request.id": x.requestId },
        error: status >= 500,
      });
  }

  private responseOf(answer: UpstreamAnswer, requestId: string): Response {
    const headers = answer.headers;
    if (!answer.hasRequestId) headers.push(["x-request-id", requestId]);
    const status = answer.status;
    const nullBody = status === 204 || status === 205 || status === 304 || answer.body.length === 0;
    try {
      return new Response(nullBody ? null : answer.body, { status, headers });
    } catch {
      // Bun refuses some answers a raw socket can carry.
      this.d.log.warn("upstream answer cannot be passed on", { requestId, status });
      return errorResponse("BAD_GATEWAY", "The upstream's answer cannot be passed on", undefined, { "x-request-id": requestId });
    }
  }
}

/**
 * The gateway's public listener, on raw sockets. Bun.serve spends ~11 µs of CPU per request
 * here before any proxying (Request, Headers and Response objects, a promise), nginx ~19 µs
 * for a whole proxied request. So the edge reads the requests that matter under a spike
 * itself: body-less GETs and HEADs to proxied routes (see request-head.ts), answered in
 * order, the upstream's answer passed on byte for byte when it can be. Writes to proxied
 * routes with one Content-Length and nothing else about their framing (POST /orders) take
 * the same lane: admitted on route, token and rate limits from the head, so a refused one
 * costs no body read, then the body is read here, within the limit and the body timeout,
 * and goes upstream with its request, alone on its connection like any write.
 *
 * Any other request goes through a tunnel to the gateway's Elysia app on a loopback port,
 * one request at a time (request-framing.ts says where each ends): Bun.serve closes a
 * connection that pipelines a request behind one it answers asynchronously, so the app
 * never sees a request before the one ahead of it on its connection is answered. The app
 * learns the client's address from the tunnel's port.
 *
 * No client costs another its answers: heads the upstream would refuse are refused here
 * (431), bodies over the limit get their 413 and a lingering close, a client that reads
 * nothing is dropped by the send timeout or its buffer cap, and past the process's
 * capacity new requests get 503 at once (edge-limits.ts).
 */
import type { Socket, TCPSocketListener } from "bun";
import { errorResponse } from "../../lib/errors.ts";
import { describeError, type Logger } from "../../lib/log.ts";
import { requestIdFrom } from "../../lib/request-id.ts";
import { AnswerScanner } from "./app-answer-scanner.ts";
import { errorAnswerBytes, responseBytes, upstreamAnswerBytes } from "./answer-encoding.ts";
import { ChunkedScanner } from "./chunked-scanner.ts";
import { DEFAULT_EDGE_LIMITS, HIGH_WATER_BYTES, MAX_HEAD_BYTES, MAX_HEADER_LINES, type EdgeLimits } from "./edge-limits.ts";
import type { UpstreamAnswer } from "../upstream/answer.ts";
import { SocketOutbox, type Budget } from "../http1/socket-outbox.ts";
import type { BodySink, AnswerSink, RequestProxy } from "../proxy.ts";
import { frameRequest, type RequestFrame } from "./request-framing.ts";
import { parseSimpleHead, type SimpleRequestHead } from "./request-head.ts";
import { readProxyHeader, type TrustedProxies } from "./trusted-proxies.ts";

export interface EdgeOptions {
  hostname: string;
  port: number;
  reusePort: boolean;
  /** Where the gateway's app listens, for everything the edge does not answer itself. */
  app: { hostname: string; port: number };
  proxy: RequestProxy;
  /** Seconds a connection may wait for a client's request. */
  idleTimeoutS: number;
  /** Largest request body. */
  bodyLimit: number;
  limits?: Partial<EdgeLimits>;
  /** Load balancers whose word on the client's address is taken (PROXY protocol, X-Forwarded-For). */
  trustedProxies?: TrustedProxies;
  log: Logger;
}

export type ShedReason = "overload" | "connections" | "memory";

export interface Edge {
  readonly port: number;
  /** The client a tunnel from `port` carries, for the app's x-forwarded-for. */
  clientOf(port: number): string | undefined;
  /** For the metrics: open client connections, bytes waiting for clients, requests shed by reason. */
  stats(): { connections: number; bufferedBytes: number; inFlight: number; shed: Record<ShedReason, number> };
  /** Stops accepting; idle connections close, busy ones after their answers. Resolves when all have. */
  stop(): Promise<void>;
}

const CRLFCRLF = Buffer.from("\r\n\r\n");
/** Pipelined requests taken from one connection before its answers; then it is read no further until they are out. */
const MAX_IN_FLIGHT = 32;
/** Answer bytes a connection may be owed or hold before it is read further (known from each target's last answer). */
const PIPELINE_BYTES = 1024 * 1024;
const RETRY_AFTER = "retry-after: 1\r\n";

interface EdgeState {
  readonly o: EdgeOptions;
  readonly limits: EdgeLimits;
  readonly connections: Set<ClientConnection>;
  readonly perAddress: Map<string, number>;
  readonly tunnels: Map<number, Tunnel>;
  /** Bytes waiting in every client's and tunnel's outbox. */
  readonly budget: Budget;
  /** Requests taken and not yet answered, in the whole process. */
  inFlight: number;
  /** The latest answer's size for each fast-lane target, and the bytes expected for the requests in flight so estimated. */
  readonly sizes: Map<string, number>;
  owed: number;
  /** A coarse clock (the sweeper's), so that the hot path reads no clock. */
  now: number;
  readonly shed: Record<ShedReason, number>;
  /** When memory pressure last asked for a garbage collection. */
  lastCollection: number;
  stopping: boolean;
  onAllClosed: (() => void) | null;
}

/** One answer in its place in the connection's order: whole (`bytes`) or streamed from the app (`chunks`). */
class Answer implements AnswerSink {
  bytes: Uint8Array | null = null;
  /** For a tunnelled request: the app's bytes not yet written, and whether its answer is complete. */
  chunks: Uint8Array[] | null = null;
  done = false;
  /** Bytes of the app's answer received so far. */
  received = 0;
  /** For a fast-lane request: its target, and the answer size expected for it (owed until it arrives). */
  target: string | null = null;
  expected = 0;
  private counted = true;

  constructor(
    private readonly conn: ClientConnection,
    private readonly headOnly: boolean,
  ) {
    conn.edge.inFlight++;
  }

  /** No longer in flight (once). */
  settle(): void {
    if (!this.counted) return;
    this.counted = false;
    this.conn.edge.inFlight--;
    if (this.expected !== 0) this.conn.unowe(this.expected);
    this.expected = 0;
  }

  fromUpstream(upstreamAnswer: UpstreamAnswer, requestId: string): number {
    this.bytes = upstreamAnswerBytes(upstreamAnswer, requestId, this.headOnly);
    if (this.target !== null) this.conn.answerSized(this, this.bytes.length);
    this.settle();
    this.conn.flush();
    return upstreamAnswer.status;
  }

  own(response: Response): void {
    responseBytes(response, this.headOnly).then(
      (bytes) => {
        this.bytes = bytes;
        this.settle();
        this.conn.flush();
      },
      () => this.conn.terminate(),
    );
  }

  ready(bytes: Uint8Array): void {
    this.bytes = bytes;
    this.settle();
  }
}

/** A fast-lane write whose body is being read: where it goes, and the bytes read so far. */
interface WriteBody {
  readonly sink: BodySink;
  readonly answer: Answer;
  /** Allocated when the body does not come whole with its head. */
  body: Buffer | null;
  readonly length: number;
  got: number;
  readonly close: boolean;
}

const enum Deadline {
  Head,
  Body,
  Send,
  Linger,
}

class ClientConnection {
  /** Bytes read and not yet taken: a head not complete yet, or requests waiting their turn. */
  private buf: Buffer | null = null;
  private readonly answers: Answer[] = [];
  private readonly out: SocketOutbox;
  private tunnel: Tunnel | null = null;
  /** The answer of the request the app has now: no other request is taken meanwhile. */
  private tunnelled: Answer | null = null;
  /** The request body being passed to the app: bytes left (-1: none), or its chunked framing. */
  private bodyLeft = -1;
  private chunked: ChunkedScanner | null = null;
  /** The fast-lane write whose body is being read. */
  private writing: WriteBody | null = null;
  /** No more requests on this connection: end it once the answers are out. */
  private closing = false;
  /** After a refusal: keep reading (and dropping) for a while, so the client can read the answer. */
  private linger = false;
  private lingerRead = 0;
  private ended = false;
  /** Not read while its answers are owed or it does not drain. */
  private paused = false;
  /** Bytes expected for this connection's fast-lane answers in flight. */
  private owed = 0;
  /** Deadlines (ms, on the edge's coarse clock; 0: none). */
  private readonly deadlines = [0, 0, 0, 0];
  /** Requests taken, and how many when the idle timeout last fired. */
  private requests = 0;
  private requestsAtTimeout = 0;
  /** The peer's address (what the connection caps count). */
  readonly peerIp: string;
  /** The client's: the peer's, or what a trusted proxy said in a PROXY header. */
  clientIp: string;
  /** A trusted proxy's connection: its PROXY header not looked for yet; its X-Forwarded-For believed. */
  private proxyHeaderPending: boolean;
  private believeForwarded: boolean;

  constructor(
    readonly socket: Socket<ClientConnection>,
    readonly edge: EdgeState,
    trusted: boolean,
  ) {
    this.peerIp = socket.remoteAddress;
    this.clientIp = this.peerIp;
    this.proxyHeaderPending = trusted;
    this.believeForwarded = trusted;
    this.out = new SocketOutbox(edge.budget);
  }

  /** The client a request comes from. */
  private clientOf(forwardedFor: string | null): string {
    return this.believeForwarded ? this.edge.o.trustedProxies!.clientFrom(this.clientIp, forwardedFor) : this.clientIp;
  }

  /** A trusted proxy's connection may start with a PROXY header: false while more of it is needed. */
  private readProxyHeader(): boolean {
    const header = readProxyHeader(this.buf!);
    if (header === "incomplete") return false;
    this.proxyHeaderPending = false;
    if (header === "none") return true;
    if (header === "invalid") {
      this.refuse(400, "BAD_REQUEST", "Malformed PROXY protocol header");
      return false;
    }
    if (header.source !== null) this.clientIp = header.source;
    // A layer-4 proxy: what the client writes in X-Forwarded-For is the client's own word.
    this.believeForwarded = false;
    this.buf = this.buf!.length === header.length ? null : this.buf!.subarray(header.length);
    return true;
  }

  get buffered(): number {
    return this.out.size;
  }

  onData(chunk: Buffer): void {
    if (this.ended) return;
    if (this.closing && this.bodyLeft === -1 && this.chunked === null && this.writing === null) {
      // Refused or closing: what the client still sends is read and dropped, up to a bound.
      this.lingerRead += chunk.length;
      if (this.lingerRead > this.edge.limits.lingerBytes) this.terminate();
      return;
    }
    this.buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.proxyHeaderPending && !this.readProxyHeader()) return;
    this.consume();
  }

  /** Takes the requests in `buf` in turn, as far as the connection's state allows. */
  private consume(): void {
    let buf = this.buf;
    if (buf === null) return;
    this.buf = null;
    let at = 0;
    const limits = this.edge.limits;
    while (at < buf.length) {
      if (this.bodyLeft !== -1 || this.chunked !== null) {
        at = this.passBody(buf, at);
        if (at < 0) return;
        continue;
      }
      if (this.writing !== null) {
        at = this.readBody(buf, at);
        if (at < 0) return;
        continue;
      }
      if (this.closing) {
        this.lingerRead += buf.length - at;
        at = buf.length;
        break;
      }
      if (this.tunnelled !== null) break; // its answer first
      if (this.answers.length >= MAX_IN_FLIGHT || this.out.size > HIGH_WATER_BYTES) {
        this.pause();
        break;
      }
      const end = buf.indexOf(CRLFCRLF, at);
      if (end === -1 ? buf.length - at > MAX_HEAD_BYTES : end + 4 - at > MAX_HEAD_BYTES) return this.refuse(431, "HEADERS_TOO_LARGE", "The request head is too large");
      if (end === -1) break;
      const text = buf.toString("latin1", at, end);
      const head = parseSimpleHead(text);
      if (head !== null && head.headers <= MAX_HEADER_LINES && head.contentLength !== -1) {
        if (head.contentLength > this.edge.o.bodyLimit) return this.tooLarge(head.requestId);
        this.requests++;
        if (this.shedding(head.requestId)) return this.close(true);
        const taken = this.takeWrite(head, buf.length - end - 4);
        if (taken === 1) {
          at = end + 4;
          // An empty body is whole already: nothing more need arrive.
          if (head.contentLength === 0) at = this.readBody(buf, at);
          continue;
        }
        if (taken === 0) {
          // Refused: a body already here is skipped and the connection goes on; one still to
          // come is not waited for.
          if (buf.length - end - 4 < head.contentLength) return this.close(true);
          at = end + 4 + head.contentLength;
          if (head.close) this.close();
          continue;
        }
        // Not a route the gateway proxies: the app's.
      } else if (head !== null && head.headers <= MAX_HEADER_LINES) {
        // What its answer will hold is known from the last one: a client is not asked more for
        // than it could be holding (backpressure), nor the process more than its cap.
        const expected = this.edge.sizes.get(head.target) ?? 0;
        if (this.answers.length > 0 && this.owed + this.out.size + expected > PIPELINE_BYTES) {
          this.pause();
          break;
        }
        this.requests++;
        if (this.shedding(head.requestId, expected)) {
          at = end + 4;
          continue;
        }
        const answer = new Answer(this, head.method === "HEAD");
        answer.target = head.target;
        answer.expected = expected;
        this.owed += expected;
        this.edge.owed += expected;
        this.answers.push(answer);
        if (this.forward(head, answer)) {
          at = end + 4;
          if (head.close) this.close();
          continue;
        }
        // Not a route the gateway proxies: the app's.
        this.answers.pop();
        answer.settle();
      }
      const frame = frameRequest(text);
      if (frame === null) return this.refuse(400, "BAD_REQUEST", "The request is not HTTP/1.1 the gateway can read");
      if (frame.headers > MAX_HEADER_LINES) return this.refuse(431, "HEADERS_TOO_LARGE", "The request has too many header lines", frame.requestId);
      if (frame.contentLength > this.edge.o.bodyLimit) return this.tooLarge(frame.requestId);
      if (frame.expectContinue) {
        // Refused before the client uploads its body for nothing (the app's server would say 100 Continue first).
        const refusal = this.edge.o.proxy.refusal(frame.method, frame.path, frame.authorization, requestIdFrom(frame.requestId));
        if (refusal !== null) return this.refuseWith(refusal);
      }
      const hasBody = frame.chunked || frame.contentLength > 0;
      this.requests++;
      if (this.shedding(frame.requestId)) {
        if (hasBody) return this.close(true);
        at = end + 4;
        continue;
      }
      this.toApp(buf, at, end, frame);
      at = end + 4;
      if (frame.chunked) this.chunked = new ChunkedScanner();
      else if (frame.contentLength > 0) this.bodyLeft = frame.contentLength;
      if (hasBody) this.deadlines[Deadline.Body] = this.edge.now + limits.bodyTimeoutMs;
      if (frame.close) this.closing = true;
    }
    if (at < buf.length) this.buf = at === 0 ? buf : buf.subarray(at);
    // A head begun and not complete: it has a time to arrive in.
    const waitingHead = this.buf !== null && this.tunnelled === null && !this.paused && !this.closing;
    if (!waitingHead) this.deadlines[Deadline.Head] = 0;
    else if (this.deadlines[Deadline.Head] === 0) this.deadlines[Deadline.Head] = this.edge.now + limits.headTimeoutMs;
  }

  /** Past the process's capacity (requests in flight, or bytes waiting for clients): a 503 at once, in its place. */
  private shedding(requestId: string | null, expected = 0): boolean {
    const edge = this.edge;
    const reason: ShedReason | null = edge.inFlight >= edge.limits.maxInFlight ? "overload" : edge.budget.bytes + edge.owed + expected > edge.limits.bufferBytes ? "memory" : null;
    if (reason === null) return false;
    edge.shed[reason]++;
    const answer = new Answer(this, false);
    answer.ready(errorAnswerBytes(503, "UNAVAILABLE", "The gateway is at capacity; try again shortly", requestIdFrom(requestId), RETRY_AFTER));
    this.answers.push(answer);
    this.flush();
    return true;
  }

  unowe(bytes: number): void {
    this.owed -= bytes;
    this.edge.owed -= bytes;
  }

  /** A fast-lane answer arrived: its size is what the next request for its target expects. */
  answerSized(answer: Answer, bytes: number): void {
    const edge = this.edge;
    const target = answer.target!;
    if (edge.sizes.get(target) !== bytes) {
      // A few hot targets in practice; a client inventing query strings must not grow this.
      if (edge.sizes.size >= 4096) edge.sizes.clear();
      edge.sizes.set(target, bytes);
    }
  }

  /** Hands a request to the proxy; a bug there costs that request a 500, not the connection its answers. */
  private forward(head: SimpleRequestHead, answer: Answer): boolean {
    try {
      return this.edge.o.proxy.forward(head, this.believeForwarded ? this.clientOf(head.forwardedFor) : this.clientIp, answer);
    } catch (e) {
      this.edge.o.log.error("unhandled error", { method: head.method, path: head.path, ...describeError(e) });
      answer.own(errorResponse("INTERNAL_ERROR", "Internal error"));
      return true;
    }
  }

  /**
   * A write read by its head: 1 when its body is to be read next, 0 when it was answered
   * without it (refused on token or rate, or the proxy failed), -1 when the path is the
   * app's. `available`: body bytes already here.
   */
  private takeWrite(head: SimpleRequestHead, available: number): number {
    const answer = new Answer(this, false);
    this.answers.push(answer);
    let sink: BodySink | null | false;
    try {
      sink = this.edge.o.proxy.begin(head, this.believeForwarded ? this.clientOf(head.forwardedFor) : this.clientIp, answer);
    } catch (e) {
      this.edge.o.log.error("unhandled error", { method: head.method, path: head.path, ...describeError(e) });
      answer.own(errorResponse("INTERNAL_ERROR", "Internal error"));
      return 0;
    }
    if (sink === false) {
      this.answers.pop();
      answer.settle();
      return -1;
    }
    if (sink === null) return 0;
    const length = head.contentLength;
    // Held until it goes upstream: counted with the bytes waiting for clients.
    const body = available >= length ? null : Buffer.allocUnsafe(length);
    if (body !== null) this.edge.budget.bytes += length;
    this.writing = { sink, answer, body, length, got: 0, close: head.close };
    this.deadlines[Deadline.Head] = 0;
    this.deadlines[Deadline.Body] = this.edge.now + this.edge.limits.bodyTimeoutMs;
    return 1;
  }

  /**
   * Reads the fast-lane write's body from `at`; once whole, sends it. Returns where it ended,
   * or -1 when all of `buf` was body.
   */
  private readBody(buf: Buffer, at: number): number {
    const w = this.writing!;
    const n = Math.min(buf.length - at, w.length - w.got);
    let body: Buffer;
    if (w.body === null) body = buf.subarray(at, at + n);
    else {
      buf.copy(w.body, w.got, at, at + n);
      body = w.body;
    }
    w.got += n;
    if (w.got < w.length) {
      this.deadlines[Deadline.Body] = this.edge.now + this.edge.limits.bodyTimeoutMs;
      return -1;
    }
    this.endWrite();
    this.deadlines[Deadline.Body] = 0;
    try {
      w.sink.send(body);
    } catch (e) {
      this.edge.o.log.error("unhandled error", { ...describeError(e) });
      w.answer.own(errorResponse("INTERNAL_ERROR", "Internal error"));
    }
    if (w.close) this.closing = true;
    return at + n;
  }

  /** The write's body is no longer held here (sent, or the client went away). */
  private endWrite(): void {
    const w = this.writing!;
    this.writing = null;
    if (w.body !== null) this.edge.budget.bytes -= w.length;
  }

  /** The request whose head is `buf[at, end)` goes to the app; its answer streams back in its place. */
  private toApp(buf: Buffer, at: number, end: number, frame: RequestFrame): void {
    const answer = new Answer(this, frame.method === "HEAD");
    answer.chunks = [];
    this.answers.push(answer);
    this.tunnelled = answer;
    this.tunnel ??= new Tunnel(this, this.edge);
    this.tunnel.begin(answer, frame.method === "HEAD", this.clientOf(frame.forwardedFor));
    let head: Uint8Array = buf.subarray(at, end + 4);
    // Bun's server takes the first segment of a path without a Host for the host: give it one.
    if (frame.http10 && !frame.hasHost) head = Buffer.concat([buf.subarray(at, buf.indexOf("\r\n", at) + 2), Buffer.from("host: gateway\r\n"), buf.subarray(buf.indexOf("\r\n", at) + 2, end + 4)]);
    this.tunnel.send(head);
  }

  /** Passes body bytes from `at` to the app; returns where the body ended, or -1 when all of `buf` was body. */
  private passBody(buf: Buffer, at: number): number {
    const edge = this.edge;
    this.deadlines[Deadline.Body] = edge.now + edge.limits.bodyTimeoutMs;
    let end: number;
    if (this.chunked !== null) {
      end = this.chunked.scan(buf, at);
      if (end === -2) {
        this.abortTunnelled(400, "BAD_REQUEST", "The chunked body is malformed");
        return -1;
      }
      if (this.chunked.dataBytes > edge.o.bodyLimit) {
        this.abortTunnelled(413, "PAYLOAD_TOO_LARGE", `Request body is larger than ${edge.o.bodyLimit} bytes`);
        return -1;
      }
    } else {
      end = Math.min(buf.length, at + this.bodyLeft);
      this.bodyLeft -= end - at;
    }
    const last = end === -1 ? buf.length : end;
    if (this.tunnel !== null && last > at) this.tunnel.send(at === 0 && last === buf.length ? buf : buf.subarray(at, last));
    if (end === -1 || this.bodyLeft > 0) return -1;
    this.bodyLeft = -1;
    this.chunked = null;
    this.deadlines[Deadline.Body] = 0;
    return last;
  }

  /**
   * The request the app is reading goes no further: the app's side is dropped, and the
   * client gets our answer in its place if the app has sent none, then a lingering close.
   */
  private abortTunnelled(status: number, code: string, message: string): void {
    const answer = this.tunnelled;
    this.bodyLeft = -1;
    this.chunked = null;
    this.deadlines[Deadline.Body] = 0;
    this.tunnel?.drop();
    this.tunnel = null;
    this.tunnelled = null;
    if (answer !== null && answer.received === 0) {
      answer.chunks = null;
      answer.ready(errorAnswerBytes(status, code, message, requestIdFrom(null), "", true));
    } else if (answer !== null) {
      answer.done = true;
      answer.settle();
    }
    this.close(true);
  }

  /** The app's answer to the tunnelled request is complete. */
  tunnelAnswered(answer: Answer, appCloses: boolean): void {
    answer.done = true;
    answer.settle();
    this.tunnelled = null;
    // Answered before its body was all read (a refusal): nothing can follow on this connection.
    const early = this.bodyLeft !== -1 || this.chunked !== null;
    if (early) {
      this.bodyLeft = -1;
      this.chunked = null;
      this.deadlines[Deadline.Body] = 0;
    }
    if (appCloses || early) {
      this.tunnel?.drop();
      this.tunnel = null;
      this.close(true);
    }
    this.flush();
    if (!this.closing && this.buf !== null) queueMicrotask(() => !this.ended && this.consume());
  }

  /** The app's side closed with an answer incomplete (or none). */
  tunnelBroke(answer: Answer): void {
    this.tunnel = null;
    this.tunnelled = null;
    if (answer.received === 0) {
      answer.chunks = null;
      answer.ready(errorAnswerBytes(502, "BAD_GATEWAY", "The request could not be completed", requestIdFrom(null), "", true));
      this.close(true);
      this.flush();
    } else this.terminate();
  }

  /** An idle tunnel closed by the app: the next tunnelled request opens another. */
  tunnelIdleClosed(tunnel: Tunnel): void {
    if (this.tunnel === tunnel) this.tunnel = null;
  }

  /** A refusal of the edge's own: the answer in its place, then a lingering close. */
  private refuse(status: number, code: string, message: string, requestId: string | null = null): void {
    const answer = new Answer(this, false);
    answer.ready(errorAnswerBytes(status, code, message, requestIdFrom(requestId), "", true));
    this.answers.push(answer);
    this.buf = null;
    this.close(true);
  }

  private tooLarge(requestId: string | null): void {
    const limit = this.edge.o.bodyLimit;
    this.refuse(413, "PAYLOAD_TOO_LARGE", `Request body is larger than ${limit} bytes`, requestId);
  }

  private refuseWith(response: Response): void {
    const answer = new Answer(this, false);
    response.headers.set("connection", "close");
    answer.own(response);
    this.answers.push(answer);
    this.buf = null;
    this.close(true);
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  /** Writes the answers that are ready, in order. */
  flush(): void {
    const answers = this.answers;
    while (answers.length > 0) {
      const a = answers[0]!;
      if (a.chunks !== null) {
        for (const c of a.chunks) this.write(c);
        a.chunks.length = 0;
        if (!a.done) break;
      } else if (a.bytes === null) break;
      else this.write(a.bytes);
      answers.shift();
    }
    if (this.paused && answers.length < MAX_IN_FLIGHT && this.out.size <= HIGH_WATER_BYTES && this.owed + this.out.size <= PIPELINE_BYTES) {
      this.paused = false;
      this.socket.resume();
      // Not now: this may run inside the upstream pool's read loop, which must not be re-entered.
      queueMicrotask(() => !this.ended && this.consume());
    }
    if (answers.length === 0 && this.closing && this.tunnelled === null) this.finish();
  }

  get answering(): boolean {
    return this.answers.length > 0;
  }

  /** The app's bytes for the tunnelled answer: written now when it is first in line. */
  streamed(answer: Answer, part: Uint8Array): void {
    answer.received += part.length;
    answer.chunks!.push(part);
    if (this.answers[0] === answer) this.flush();
  }

  write(data: Uint8Array): void {
    if (this.ended) return;
    const wasEmpty = this.out.empty;
    this.out.write(this.socket, data);
    if (this.out.empty) return;
    const edge = this.edge;
    if (wasEmpty) this.deadlines[Deadline.Send] = edge.now + edge.limits.sendTimeoutMs;
    if (this.out.size > edge.limits.connectionBufferBytes) return this.terminate();
    if (edge.budget.bytes > edge.limits.bufferBytes) relieve(edge);
  }

  /** Whether the app should be read for this client: not while it does not drain. */
  get draining(): boolean {
    return this.out.size <= HIGH_WATER_BYTES;
  }

  onDrain(): void {
    if (!this.out.drain(this.socket)) {
      this.deadlines[Deadline.Send] = this.edge.now + this.edge.limits.sendTimeoutMs; // progress
      return;
    }
    this.deadlines[Deadline.Send] = 0;
    this.tunnel?.clientDrained();
    if (this.paused) this.flush();
    if (this.closing && this.answers.length === 0 && this.tunnelled === null) this.finish();
  }

  /** Takes no more requests; ends once the answers in flight are out (`linger`: after reading what the client still sends, for a while). */
  close(linger = false): void {
    this.closing = true;
    this.linger ||= linger;
    this.buf = null;
    this.flush();
  }

  /** Answers out: end, or half-close and linger. */
  private finish(): void {
    if (this.ended || !this.out.empty) return;
    if (!this.linger) {
      this.ended = true;
      this.socket.end();
      return;
    }
    if (this.deadlines[Deadline.Linger] !== 0) return;
    this.socket.end(); // FIN: the client reads its answer, then closes; what it sends meanwhile is dropped
    this.deadlines[Deadline.Linger] = this.edge.now + this.edge.limits.lingerMs;
    if (this.paused) this.socket.resume();
  }

  /** The sweeper's check of this connection's deadlines. */
  checkDeadlines(now: number): void {
    const d = this.deadlines;
    if ((d[Deadline.Head] !== 0 && d[Deadline.Head]! <= now) || (d[Deadline.Body] !== 0 && d[Deadline.Body]! <= now) || (d[Deadline.Send] !== 0 && d[Deadline.Send]! <= now) || (d[Deadline.Linger] !== 0 && d[Deadline.Linger]! <= now)) this.terminate();
  }

  /**
   * Bun's socket timeout fires a set time after it was armed, activity or not: a connection
   * that took a request since the last one, or waits for answers (the upstream timeout bounds
   * that), gets another period. So an idle connection closes after one to two periods.
   */
  onTimeout(): void {
    if (this.requests !== this.requestsAtTimeout || this.answers.length > 0 || this.tunnelled !== null || this.deadlines[Deadline.Linger] !== 0) {
      this.requestsAtTimeout = this.requests;
      this.socket.timeout(this.edge.o.idleTimeoutS);
      return;
    }
    this.close();
  }

  terminate(): void {
    this.ended = true;
    this.socket.terminate();
  }

  /** The app took what it was sent: the client may be read again (unless held for its own answers). */
  tunnelDrained(): void {
    if (!this.paused && !this.ended) this.socket.resume();
  }

  onClose(): void {
    this.ended = true;
    this.out.clear();
    if (this.writing !== null) this.endWrite();
    for (const a of this.answers) a.settle();
    this.tunnelled?.settle();
    this.tunnel?.drop();
    this.tunnel = null;
    const edge = this.edge;
    if (!edge.connections.delete(this)) return;
    const n = (edge.perAddress.get(this.peerIp) ?? 1) - 1;
    if (n <= 0) edge.perAddress.delete(this.peerIp);
    else edge.perAddress.set(this.peerIp, n);
    if (edge.connections.size === 0) edge.onAllClosed?.();
  }
}

/** Past the global cap on bytes waiting for clients: the largest holders (clients that do not read) are dropped. */
function relieve(edge: EdgeState): void {
  const target = edge.limits.bufferBytes * 0.75;
  const holders = [...edge.connections].filter((c) => c.buffered > 0).sort((a, b) => b.buffered - a.buffered);
  for (const c of holders) {
    if (edge.budget.bytes <= target) break;
    edge.shed.memory++;
    c.terminate();
    c.onClose(); // gives its bytes back now, not at the close event
  }
  // What they held is garbage now, and much more of it is on its way (their answers in
  // flight): without a collection the process's memory grows well past the cap first.
  if (edge.now - edge.lastCollection >= 1000) {
    edge.lastCollection = edge.now;
    Bun.gc(true);
  }
}

/** A connection to the app for one client: one request at a time, its answer streamed back in its place. */
class Tunnel {
  private socket: Socket<Tunnel> | null = null;
  private pending: Uint8Array[] | null = [];
  private readonly out: SocketOutbox;
  private port = 0;
  private closed = false;
  private answer: Answer | null = null;
  private scanner: AnswerScanner | null = null;
  private paused = false;
  /** The client of the request the app has now, for the app's x-forwarded-for. */
  clientIp: string;

  constructor(
    private readonly client: ClientConnection,
    private readonly edge: EdgeState,
  ) {
    this.clientIp = client.clientIp;
    this.out = new SocketOutbox(edge.budget);
    const app = edge.o.app;
    Bun.connect<Tunnel>({
      hostname: app.hostname,
      port: app.port,
      data: this,
      socket: {
        data: (_s, chunk) => this.fromApp(chunk),
        drain: (s) => {
          if (this.out.drain(s)) client.tunnelDrained();
        },
        close: () => this.onClose(),
        error: () => this.onClose(),
      },
    }).then(
      (socket) => {
        if (this.closed) return socket.terminate();
        this.socket = socket;
        this.port = socket.localPort;
        edge.tunnels.set(this.port, this);
        for (const bytes of this.pending!) this.out.write(socket, bytes);
        this.pending = null;
      },
      (e) => {
        edge.o.log.error("cannot reach the gateway's own app", { error: String(e) });
        this.onClose();
      },
    );
  }

  begin(answer: Answer, headOnly: boolean, clientIp: string): void {
    this.clientIp = clientIp;
    this.answer = answer;
    this.scanner = new AnswerScanner(headOnly);
  }

  send(bytes: Uint8Array): void {
    if (this.pending !== null) this.pending.push(bytes);
    else if (this.socket !== null) this.out.write(this.socket, bytes);
    // The app does not read what it is sent: stop reading the client.
    if (this.out.size > HIGH_WATER_BYTES) this.client.socket.pause();
  }

  private fromApp(chunk: Uint8Array): void {
    const answer = this.answer;
    if (answer === null) return this.drop(); // bytes nobody asked for: out of step
    const end = this.scanner!.scan(chunk, 0);
    if (end === -2) {
      this.drop();
      return this.client.tunnelBroke(answer);
    }
    this.client.streamed(answer, end === -1 || end === chunk.length ? chunk : chunk.subarray(0, end));
    if (end !== -1) {
      this.answer = null;
      this.client.tunnelAnswered(answer, this.scanner!.close);
    }
    // The client does not read what the app sends: stop reading the app.
    if (!this.client.draining && this.socket !== null && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  clientDrained(): void {
    if (this.paused && this.socket !== null) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.port !== 0) this.edge.tunnels.delete(this.port);
    this.socket = null;
    const answer = this.answer;
    this.answer = null;
    if (answer === null) return this.client.tunnelIdleClosed(this);
    // An answer that runs until the connection closes ends here.
    if (this.scanner!.status >= 200 && this.scanner!.close && answer.received > 0) this.client.tunnelAnswered(answer, true);
    else this.client.tunnelBroke(answer);
  }

  /** The client went away, or its request was refused mid-body. */
  drop(): void {
    if (this.closed) return;
    this.closed = true;
    this.answer = null;
    this.out.clear();
    if (this.port !== 0) this.edge.tunnels.delete(this.port);
    this.socket?.terminate();
    this.socket = null;
  }
}

/** Refused connections get this and nothing more. */
const CONNECTIONS_REFUSED = errorAnswerBytes(503, "UNAVAILABLE", "Too many connections; try again shortly", "connection-refused", RETRY_AFTER, true);

export function startEdge(o: EdgeOptions): Edge {
  const limits = { ...DEFAULT_EDGE_LIMITS, ...o.limits };
  const state: EdgeState = {
    o,
    limits,
    connections: new Set(),
    perAddress: new Map(),
    tunnels: new Map(),
    budget: { bytes: 0 },
    inFlight: 0,
    sizes: new Map(),
    owed: 0,
    now: Date.now(),
    shed: { overload: 0, connections: 0, memory: 0 },
    lastCollection: 0,
    stopping: false,
    onAllClosed: null,
  };
  const tick = Math.max(50, Math.min(1000, Math.min(limits.headTimeoutMs, limits.bodyTimeoutMs, limits.sendTimeoutMs, limits.lingerMs) / 4));
  const sweeper = setInterval(() => {
    const now = Date.now();
    state.now = now;
    for (const conn of state.connections) conn.checkDeadlines(now);
  }, tick);
  sweeper.unref();
  // reusePort is not in Bun's types for listen, but Bun honours it (GATEWAY_WORKERS > 1).
  const listener: TCPSocketListener<ClientConnection> = Bun.listen<ClientConnection>({
    hostname: o.hostname,
    port: o.port,
    ...({ reusePort: o.reusePort } as object),
    socket: {
      open(socket) {
        const ip = socket.remoteAddress;
        const fromThere = state.perAddress.get(ip) ?? 0;
        // A trusted load balancer carries many clients: only the total cap applies to it.
        const trusted = o.trustedProxies?.trusts(ip) ?? false;
        if (state.connections.size >= limits.maxConnections || (!trusted && fromThere >= limits.maxConnectionsPerAddress)) {
          // Refused cheaply: one write, no state; the connections already open are served as before.
          state.shed.connections++;
          socket.end(CONNECTIONS_REFUSED);
          return;
        }
        const conn = new ClientConnection(socket, state, trusted);
        socket.data = conn;
        socket.setNoDelay(true);
        socket.timeout(o.idleTimeoutS);
        state.connections.add(conn);
        state.perAddress.set(ip, fromThere + 1);
        if (state.stopping) conn.close();
      },
      data: (socket, chunk) => socket.data?.onData(chunk),
      drain: (socket) => socket.data?.onDrain(),
      timeout: (socket) => socket.data?.onTimeout(),
      close: (socket) => socket.data?.onClose(),
      error: (socket) => socket.data?.terminate(),
    },
  });
  return {
    port: listener.port,
    clientOf: (port) => state.tunnels.get(port)?.clientIp,
    stats: () => ({ connections: state.connections.size, bufferedBytes: state.budget.bytes, inFlight: state.inFlight, shed: { ...state.shed } }),
    stop() {
      state.stopping = true;
      listener.stop();
      const done = () => clearInterval(sweeper);
      if (state.connections.size === 0) {
        done();
        return Promise.resolve();
      }
      const closed = new Promise<void>((resolve) => {
        state.onAllClosed = () => {
          done();
          resolve();
        };
      });
      for (const conn of state.connections) conn.close();
      return closed;
    },
  };
}

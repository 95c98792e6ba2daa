/**
 * A client connection's state, and the order of its answers: each request taken gets its
 * slot in line as it is read, and slots are written to the client in that order whoever fills
 * them (the upstream, the app through the tunnel, the edge's own refusals). The lanes that
 * take requests (fast-reads.ts, fast-writes.ts, tunnel.ts) read and set this state;
 * client-connection.ts reads the requests off the wire and hands each to its lane.
 */
import type { Socket } from "bun";
import { requestIdFrom } from "../../lib/request-id.ts";
import { SocketOutbox } from "../http1/socket-outbox.ts";
import type { AnswerSink, BodySink } from "../proxy.ts";
import type { UpstreamAnswer } from "../upstream/answer.ts";
import { errorAnswerBytes, responseBytes, upstreamAnswerBytes } from "./answer-encoding.ts";
import type { ChunkedScanner } from "./chunked-scanner.ts";
import { HIGH_WATER_BYTES } from "./edge-limits.ts";
import { MAX_IN_FLIGHT, PIPELINE_BYTES, type EdgeState } from "./edge-state.ts";
import { atCapacity, relieve, shedReason } from "./shedding.ts";

/** One answer in its place in the connection's order: whole (`bytes`) or streamed from the app (`chunks`). */
export class AnswerSlot implements AnswerSink {
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
    private readonly conn: ConnectionState,
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
export interface WriteBody {
  readonly sink: BodySink;
  readonly answer: AnswerSlot;
  /** Allocated when the body does not come whole with its head. */
  body: Buffer | null;
  readonly length: number;
  got: number;
  readonly close: boolean;
}

/** The connection's tunnel to the app (tunnel.ts), as far as its state needs to know it. */
export interface AppTunnel {
  begin(answer: AnswerSlot, headOnly: boolean, clientIp: string): void;
  send(bytes: Uint8Array): void;
  clientDrained(): void;
  drop(): void;
}

export const enum Deadline {
  Head,
  Body,
  Send,
  Linger,
}

export abstract class ConnectionState {
  /** Bytes read and not yet taken: a head not complete yet, or requests waiting their turn. */
  buf: Buffer | null = null;
  readonly answers: AnswerSlot[] = [];
  readonly out: SocketOutbox;
  tunnel: AppTunnel | null = null;
  /** The answer of the request the app has now: no other request is taken meanwhile. */
  tunnelled: AnswerSlot | null = null;
  /** The request body being passed to the app: bytes left (-1: none), or its chunked framing. */
  bodyLeft = -1;
  chunked: ChunkedScanner | null = null;
  /** The fast-lane write whose body is being read. */
  writing: WriteBody | null = null;
  /** No more requests on this connection: end it once the answers are out. */
  closing = false;
  /** After a refusal: keep reading (and dropping) for a while, so the client can read the answer. */
  private linger = false;
  lingerRead = 0;
  ended = false;
  /** Not read while its answers are owed or it does not drain. */
  paused = false;
  /** Bytes expected for this connection's fast-lane answers in flight. */
  owed = 0;
  /** Deadlines (ms, on the edge's coarse clock; 0: none). */
  readonly deadlines = [0, 0, 0, 0];
  /** Requests taken, and how many when the idle timeout last fired. */
  requests = 0;
  private requestsAtTimeout = 0;
  /** The peer's address (what the connection caps count). */
  readonly peerIp: string;
  /** The client's: the peer's, or what a trusted proxy said in a PROXY header. */
  clientIp: string;
  /** A trusted proxy's connection: its PROXY header not looked for yet; its X-Forwarded-For believed. */
  proxyHeaderPending: boolean;
  believeForwarded: boolean;

  constructor(
    readonly socket: Socket<ConnectionState>,
    readonly edge: EdgeState,
    trusted: boolean,
  ) {
    this.peerIp = socket.remoteAddress;
    this.clientIp = this.peerIp;
    this.proxyHeaderPending = trusted;
    this.believeForwarded = trusted;
    this.out = new SocketOutbox(edge.budget);
  }

  /** Takes the requests in `buf` in turn, as far as the connection's state allows. */
  abstract consume(): void;

  /** The client a request comes from. */
  clientOf(forwardedFor: string | null): string {
    return this.believeForwarded ? this.edge.options.trustedProxies!.clientFrom(this.clientIp, forwardedFor) : this.clientIp;
  }

  get buffered(): number {
    return this.out.size;
  }

  /** Past the process's capacity (requests in flight, or bytes waiting for clients): a 503 at once, in its place. */
  shedding(requestId: string | null, expected = 0): boolean {
    const edge = this.edge;
    const reason = shedReason(edge, expected);
    if (reason === null) return false;
    edge.shed[reason]++;
    const answer = new AnswerSlot(this, false);
    answer.ready(atCapacity(requestIdFrom(requestId)));
    this.answers.push(answer);
    this.flush();
    return true;
  }

  unowe(bytes: number): void {
    this.owed -= bytes;
    this.edge.owed -= bytes;
  }

  /** A fast-lane answer arrived: its size is what the next request for its target expects. */
  answerSized(answer: AnswerSlot, bytes: number): void {
    const edge = this.edge;
    const target = answer.target!;
    if (edge.sizes.get(target) !== bytes) {
      // A few hot targets in practice; a client inventing query strings must not grow this.
      if (edge.sizes.size >= 4096) edge.sizes.clear();
      edge.sizes.set(target, bytes);
    }
  }

  /** A refusal of the edge's own: the answer in its place, then a lingering close. */
  refuse(status: number, code: string, message: string, requestId: string | null = null): void {
    const answer = new AnswerSlot(this, false);
    answer.ready(errorAnswerBytes(status, code, message, requestIdFrom(requestId), "", true));
    this.answers.push(answer);
    this.buf = null;
    this.close(true);
  }

  tooLarge(requestId: string | null): void {
    const limit = this.edge.options.bodyLimit;
    this.refuse(413, "PAYLOAD_TOO_LARGE", `Request body is larger than ${limit} bytes`, requestId);
  }

  refuseWith(response: Response): void {
    const answer = new AnswerSlot(this, false);
    response.headers.set("connection", "close");
    answer.own(response);
    this.answers.push(answer);
    this.buf = null;
    this.close(true);
  }

  pause(): void {
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
      this.socket.timeout(this.edge.options.idleTimeoutS);
      return;
    }
    this.close();
  }

  terminate(): void {
    this.ended = true;
    this.socket.terminate();
  }
}

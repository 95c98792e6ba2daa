/**
 * The lane for everything the edge does not read itself: a tunnel to the gateway's Elysia
 * app on a loopback port, one per client connection, one request at a time
 * (request-framing.ts says where each ends). Bun.serve closes a connection that pipelines a
 * request behind one it answers asynchronously, so the app never sees a request before the
 * one ahead of it on its connection is answered: the connection's next request is taken only
 * once the app's answer has ended (app-answer-scanner.ts). The app's answer streams back in
 * its slot as it comes; the app learns the client's address from the tunnel's local port.
 */
import type { Socket } from "bun";
import { requestIdFrom } from "../../lib/request-id.ts";
import { SocketOutbox } from "../http1/socket-outbox.ts";
import { errorAnswerBytes } from "./answer-encoding.ts";
import { AppAnswerScanner } from "./app-answer-scanner.ts";
import { AnswerSlot, Deadline, type AppTunnel, type ConnectionState } from "./connection-state.ts";
import { HIGH_WATER_BYTES } from "./edge-limits.ts";
import type { EdgeState } from "./edge-state.ts";
import type { RequestFrame } from "./request-framing.ts";

/** The request whose head is `buf[at, end)` goes to the app; its answer streams back in its place. */
export function toApp(conn: ConnectionState, buf: Buffer, at: number, end: number, frame: RequestFrame): void {
  const answer = new AnswerSlot(conn, frame.method === "HEAD");
  answer.chunks = [];
  conn.answers.push(answer);
  conn.tunnelled = answer;
  conn.tunnel ??= new Tunnel(conn, conn.edge);
  conn.tunnel.begin(answer, frame.method === "HEAD", conn.clientOf(frame.forwardedFor));
  let head: Uint8Array = buf.subarray(at, end + 4);
  // Bun's server takes the first segment of a path without a Host for the host: give it one.
  if (frame.http10 && !frame.hasHost) head = Buffer.concat([buf.subarray(at, buf.indexOf("\r\n", at) + 2), Buffer.from("host: gateway\r\n"), buf.subarray(buf.indexOf("\r\n", at) + 2, end + 4)]);
  conn.tunnel.send(head);
}

/** Passes body bytes from `at` to the app; returns where the body ended, or -1 when all of `buf` was body. */
export function passBody(conn: ConnectionState, buf: Buffer, at: number): number {
  const edge = conn.edge;
  conn.deadlines[Deadline.Body] = edge.now + edge.limits.bodyTimeoutMs;
  let end: number;
  if (conn.chunked !== null) {
    end = conn.chunked.scan(buf, at);
    if (end === -2) {
      abortTunnelled(conn, 400, "BAD_REQUEST", "The chunked body is malformed");
      return -1;
    }
    if (conn.chunked.dataBytes > edge.options.bodyLimit) {
      abortTunnelled(conn, 413, "PAYLOAD_TOO_LARGE", `Request body is larger than ${edge.options.bodyLimit} bytes`);
      return -1;
    }
  } else {
    end = Math.min(buf.length, at + conn.bodyLeft);
    conn.bodyLeft -= end - at;
  }
  const last = end === -1 ? buf.length : end;
  if (conn.tunnel !== null && last > at) conn.tunnel.send(at === 0 && last === buf.length ? buf : buf.subarray(at, last));
  if (end === -1 || conn.bodyLeft > 0) return -1;
  conn.bodyLeft = -1;
  conn.chunked = null;
  conn.deadlines[Deadline.Body] = 0;
  return last;
}

/**
 * The request the app is reading goes no further: the app's side is dropped, and the
 * client gets our answer in its place if the app has sent none, then a lingering close.
 */
function abortTunnelled(conn: ConnectionState, status: number, code: string, message: string): void {
  const answer = conn.tunnelled;
  conn.bodyLeft = -1;
  conn.chunked = null;
  conn.deadlines[Deadline.Body] = 0;
  conn.tunnel?.drop();
  conn.tunnel = null;
  conn.tunnelled = null;
  if (answer !== null && answer.received === 0) {
    answer.chunks = null;
    answer.ready(errorAnswerBytes(status, code, message, requestIdFrom(null), "", true));
  } else if (answer !== null) {
    answer.done = true;
    answer.settle();
  }
  conn.close(true);
}

/** The app's answer to the tunnelled request is complete. */
function tunnelAnswered(conn: ConnectionState, answer: AnswerSlot, appCloses: boolean): void {
  answer.done = true;
  answer.settle();
  conn.tunnelled = null;
  // Answered before its body was all read (a refusal): nothing can follow on this connection.
  const early = conn.bodyLeft !== -1 || conn.chunked !== null;
  if (early) {
    conn.bodyLeft = -1;
    conn.chunked = null;
    conn.deadlines[Deadline.Body] = 0;
  }
  if (appCloses || early) {
    conn.tunnel?.drop();
    conn.tunnel = null;
    conn.close(true);
  }
  conn.flush();
  if (!conn.closing && conn.buf !== null) queueMicrotask(() => !conn.ended && conn.consume());
}

/** The app's side closed with an answer incomplete (or none). */
function tunnelBroke(conn: ConnectionState, answer: AnswerSlot): void {
  conn.tunnel = null;
  conn.tunnelled = null;
  if (answer.received === 0) {
    answer.chunks = null;
    answer.ready(errorAnswerBytes(502, "BAD_GATEWAY", "The request could not be completed", requestIdFrom(null), "", true));
    conn.close(true);
    conn.flush();
  } else conn.terminate();
}

/** An idle tunnel closed by the app: the next tunnelled request opens another. */
function tunnelIdleClosed(conn: ConnectionState, tunnel: Tunnel): void {
  if (conn.tunnel === tunnel) conn.tunnel = null;
}

/** The app's bytes for the tunnelled answer: written now when it is first in line. */
function streamed(conn: ConnectionState, answer: AnswerSlot, part: Uint8Array): void {
  answer.received += part.length;
  answer.chunks!.push(part);
  if (conn.answers[0] === answer) conn.flush();
}

/** The app took what it was sent: the client may be read again (unless held for its own answers). */
function tunnelDrained(conn: ConnectionState): void {
  if (!conn.paused && !conn.ended) conn.socket.resume();
}

/** A connection to the app for one client: one request at a time, its answer streamed back in its place. */
class Tunnel implements AppTunnel {
  private socket: Socket<Tunnel> | null = null;
  private pending: Uint8Array[] | null = [];
  private readonly out: SocketOutbox;
  private port = 0;
  private closed = false;
  private answer: AnswerSlot | null = null;
  private scanner: AppAnswerScanner | null = null;
  private paused = false;
  /** The client of the request the app has now, for the app's x-forwarded-for. */
  clientIp: string;

  constructor(
    private readonly client: ConnectionState,
    private readonly edge: EdgeState,
  ) {
    this.clientIp = client.clientIp;
    this.out = new SocketOutbox(edge.budget);
    const app = edge.options.app;
    Bun.connect<Tunnel>({
      hostname: app.hostname,
      port: app.port,
      data: this,
      socket: {
        data: (_s, chunk) => this.fromApp(chunk),
        drain: (s) => {
          if (this.out.drain(s)) tunnelDrained(client);
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
        edge.options.log.error("cannot reach the gateway's own app", { error: String(e) });
        this.onClose();
      },
    );
  }

  begin(answer: AnswerSlot, headOnly: boolean, clientIp: string): void {
    this.clientIp = clientIp;
    this.answer = answer;
    this.scanner = new AppAnswerScanner(headOnly);
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
      return tunnelBroke(this.client, answer);
    }
    streamed(this.client, answer, end === -1 || end === chunk.length ? chunk : chunk.subarray(0, end));
    if (end !== -1) {
      this.answer = null;
      tunnelAnswered(this.client, answer, this.scanner!.close);
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
    if (answer === null) return tunnelIdleClosed(this.client, this);
    // An answer that runs until the connection closes ends here.
    if (this.scanner!.status >= 200 && this.scanner!.close && answer.received > 0) tunnelAnswered(this.client, answer, true);
    else tunnelBroke(this.client, answer);
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

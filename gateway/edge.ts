/**
 * The gateway's public listener, on raw sockets. Bun.serve spends ~11 µs of CPU per request
 * here before any proxying (Request, Headers and Response objects, a promise), nginx ~19 µs
 * for a whole proxied request. So the edge reads the requests that matter under a spike
 * itself: body-less GETs and HEADs to proxied routes (see request-head.ts), answered in
 * order, the upstream's answer passed on byte for byte when it can be.
 *
 * Any other request, and everything after it on that connection, goes through a tunnel to
 * the gateway's Elysia app on a loopback port: Bun's HTTP server reads it, answers or refuses
 * it as it always did. The app learns the client's address from the tunnel's port.
 */
import type { Socket, TCPSocketListener } from "bun";
import { errorResponse } from "../lib/errors.ts";
import { describeError, type Logger } from "../lib/log.ts";
import { responseBytes, upstreamAnswerBytes } from "./answer-bytes.ts";
import type { UpstreamResponse } from "./http1-pool.ts";
import type { Proxy, ProxyReply } from "./proxy.ts";
import { Outbox } from "./outbox.ts";
import { parseSimpleHead, type SimpleRequestHead } from "./request-head.ts";

export interface EdgeOptions {
  hostname: string;
  port: number;
  reusePort: boolean;
  /** Where the gateway's app listens, for everything the edge does not answer itself. */
  app: { hostname: string; port: number };
  proxy: Proxy;
  /** Seconds a connection may wait for a client's request. */
  idleTimeoutS: number;
  log: Logger;
}

export interface Edge {
  readonly port: number;
  /** The client a tunnel from `port` carries, for the app's x-forwarded-for. */
  clientOf(port: number): string | undefined;
  /** Stops accepting; idle connections close, busy ones after their answers. Resolves when all have. */
  stop(): Promise<void>;
}

const CRLFCRLF = Buffer.from("\r\n\r\n");
/** Longer heads go to Bun's server, which answers 431. */
const MAX_HEAD_BYTES = 16 * 1024;
/** Pipelined requests taken from one connection before its answers; then it is read no further until they are out. */
const MAX_IN_FLIGHT = 32;
/** A peer that reads nothing while this much waits for it is dropped. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

interface EdgeState {
  readonly o: EdgeOptions;
  readonly connections: Set<ClientConnection>;
  readonly tunnels: Map<number, string>;
  stopping: boolean;
  onAllClosed: (() => void) | null;
}

/** One answer on its way, in its place in the connection's order. */
class Answer implements ProxyReply {
  bytes: Uint8Array | null = null;

  constructor(
    private readonly conn: ClientConnection,
    private readonly headOnly: boolean,
  ) {}

  upstream(r: UpstreamResponse, requestId: string): number {
    this.bytes = upstreamAnswerBytes(r, requestId, this.headOnly);
    this.conn.flush();
    return r.status;
  }

  own(response: Response): void {
    responseBytes(response, this.headOnly).then(
      (bytes) => {
        this.bytes = bytes;
        this.conn.flush();
      },
      () => this.conn.terminate(),
    );
  }
}

class ClientConnection {
  /** A request head not complete yet. */
  private partial: Buffer | null = null;
  private readonly answers: Answer[] = [];
  private readonly out = new Outbox(MAX_BUFFERED_BYTES, () => this.terminate());
  private tunnel: Tunnel | null = null;
  /** No more requests on this connection: end it once the answers are out. */
  private closing = false;
  private ended = false;
  /** Not read while MAX_IN_FLIGHT answers are owed. */
  private paused = false;
  /** Requests taken, and how many when the idle timeout last fired. */
  private requests = 0;
  private requestsAtTimeout = 0;
  readonly clientIp: string;

  constructor(
    readonly socket: Socket<ClientConnection>,
    private readonly edge: EdgeState,
  ) {
    this.clientIp = socket.remoteAddress;
  }

  onData(chunk: Buffer): void {
    if (this.tunnel !== null) return this.tunnel.send(chunk);
    if (this.closing) return; // after `Connection: close`, or while stopping
    this.consume(this.partial === null ? chunk : Buffer.concat([this.partial, chunk]));
  }

  private consume(buf: Buffer): void {
    this.partial = null;
    let at = 0;
    while (at < buf.length) {
      if (this.answers.length >= MAX_IN_FLIGHT) {
        this.partial = buf.subarray(at);
        this.paused = true;
        this.socket.pause();
        return;
      }
      const end = buf.indexOf(CRLFCRLF, at);
      if (end === -1 || end - at > MAX_HEAD_BYTES) {
        if (end === -1 && buf.length - at <= MAX_HEAD_BYTES) this.partial = at === 0 ? buf : buf.subarray(at);
        else this.toTunnel(buf.subarray(at));
        return;
      }
      const head = parseSimpleHead(buf.toString("latin1", at, end));
      if (head === null) return this.toTunnel(buf.subarray(at));
      this.requests++;
      const answer = new Answer(this, head.method === "HEAD");
      this.answers.push(answer);
      if (!this.forward(head, answer)) {
        this.answers.pop();
        return this.toTunnel(buf.subarray(at));
      }
      at = end + 4;
      if (head.close) return this.close();
    }
  }

  /** Hands a request to the proxy; a bug there costs that request a 500, not the connection its answers. */
  private forward(head: SimpleRequestHead, answer: Answer): boolean {
    try {
      return this.edge.o.proxy.forward(head, this.clientIp, answer);
    } catch (e) {
      this.edge.o.log.error("unhandled error", { method: head.method, path: head.path, ...describeError(e) });
      answer.own(errorResponse("INTERNAL_ERROR", "Internal error"));
      return true;
    }
  }

  /** Writes the answers that are ready, in order. */
  flush(): void {
    const answers = this.answers;
    while (answers.length > 0 && answers[0]!.bytes !== null) this.write(answers.shift()!.bytes!);
    if (this.paused && answers.length === 0) {
      this.paused = false;
      this.socket.resume();
      // Not now: this may run inside the upstream pool's read loop, which must not be re-entered.
      queueMicrotask(() => this.partial !== null && !this.ended && this.tunnel === null && !this.closing && this.consume(this.partial));
    }
    if (answers.length > 0) return;
    if (this.tunnel !== null) this.tunnel.release();
    else if (this.closing) this.end();
  }

  get answering(): boolean {
    return this.answers.length > 0;
  }

  write(data: Uint8Array): void {
    if (!this.ended) this.out.write(this.socket, data);
  }

  onDrain(): void {
    if (this.out.drain(this.socket) && this.closing && this.answers.length === 0 && this.tunnel === null) this.end();
  }

  /** Takes no more requests; ends once the answers in flight are out. */
  close(): void {
    this.closing = true;
    this.partial = null;
    if (this.tunnel === null) this.flush();
  }

  /**
   * Bun's socket timeout fires a set time after it was armed, activity or not: a connection
   * that took a request since the last one, or waits for answers (the upstream timeout bounds
   * that), gets another period. So an idle connection closes after one to two periods.
   */
  onTimeout(): void {
    if (this.tunnel !== null) return; // the app's server times it out
    if (this.requests !== this.requestsAtTimeout || this.answers.length > 0) {
      this.requestsAtTimeout = this.requests;
      this.socket.timeout(this.edge.o.idleTimeoutS);
      return;
    }
    this.end();
  }

  private end(): void {
    if (this.ended || !this.out.empty) return;
    this.ended = true;
    this.socket.end();
  }

  terminate(): void {
    this.ended = true;
    this.socket.terminate();
  }

  onClose(): void {
    this.ended = true;
    this.tunnel?.close();
    this.edge.connections.delete(this);
    if (this.edge.connections.size === 0) this.edge.onAllClosed?.();
  }

  /** This request and everything after it go to the app. */
  private toTunnel(bytes: Uint8Array): void {
    this.tunnel = new Tunnel(this, this.edge);
    this.tunnel.send(bytes);
  }

  /** The app closed the tunnel: end once everything it sent is out. */
  tunnelClosed(): void {
    this.closing = true;
    if (this.answers.length === 0) {
      this.tunnel = null;
      this.end();
    }
  }
}

/** A connection handed to the app: bytes both ways, the app's held while earlier answers are owed. */
class Tunnel {
  private socket: Socket<Tunnel> | null = null;
  private pending: Uint8Array[] | null = [];
  private held: Uint8Array[] = [];
  private readonly out: Outbox;
  private port = 0;
  private closed = false;

  constructor(
    private readonly client: ClientConnection,
    private readonly edge: EdgeState,
  ) {
    this.out = new Outbox(MAX_BUFFERED_BYTES, () => client.terminate());
    const app = edge.o.app;
    Bun.connect<Tunnel>({
      hostname: app.hostname,
      port: app.port,
      data: this,
      socket: {
        data: (_s, chunk) => this.fromApp(chunk),
        drain: (s) => void this.out.drain(s),
        close: () => this.onClose(),
        error: () => this.onClose(),
      },
    }).then(
      (socket) => {
        if (this.closed) return socket.terminate();
        this.socket = socket;
        this.port = socket.localPort;
        edge.tunnels.set(this.port, client.clientIp);
        for (const bytes of this.pending!) this.out.write(socket, bytes);
        this.pending = null;
      },
      (e) => {
        edge.o.log.error("cannot reach the gateway's own app", { error: String(e) });
        client.terminate();
      },
    );
  }

  send(bytes: Uint8Array): void {
    if (this.pending !== null) this.pending.push(bytes);
    else if (this.socket !== null) this.out.write(this.socket, bytes);
  }

  private fromApp(chunk: Uint8Array): void {
    if (this.client.answering) this.held.push(chunk);
    else this.client.write(chunk);
  }

  /** The answers owed before the tunnel's are out: pass on what the app sent meanwhile. */
  release(): void {
    const held = this.held;
    this.held = [];
    for (const chunk of held) this.client.write(chunk);
    if (this.closed) this.client.tunnelClosed();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.port !== 0) this.edge.tunnels.delete(this.port);
    this.socket = null;
    if (!this.client.answering) this.client.tunnelClosed();
  }

  /** The client went away. */
  close(): void {
    if (this.socket !== null) this.socket.end();
    this.closed = true;
    if (this.port !== 0) this.edge.tunnels.delete(this.port);
  }
}

export function startEdge(o: EdgeOptions): Edge {
  const state: EdgeState = { o, connections: new Set(), tunnels: new Map(), stopping: false, onAllClosed: null };
  // reusePort is not in Bun's types for listen, but Bun honours it (GATEWAY_WORKERS > 1).
  const listener: TCPSocketListener<ClientConnection> = Bun.listen<ClientConnection>({
    hostname: o.hostname,
    port: o.port,
    ...({ reusePort: o.reusePort } as object),
    socket: {
      open(socket) {
        const conn = new ClientConnection(socket, state);
        socket.data = conn;
        socket.setNoDelay(true);
        socket.timeout(o.idleTimeoutS);
        state.connections.add(conn);
        if (state.stopping) conn.close();
      },
      data: (socket, chunk) => socket.data.onData(chunk),
      drain: (socket) => socket.data.onDrain(),
      timeout: (socket) => socket.data.onTimeout(),
      close: (socket) => socket.data?.onClose(),
      error: (socket) => socket.data?.terminate(),
    },
  });
  return {
    port: listener.port,
    clientOf: (port) => state.tunnels.get(port),
    stop() {
      state.stopping = true;
      listener.stop();
      if (state.connections.size === 0) return Promise.resolve();
      const closed = new Promise<void>((resolve) => {
        state.onAllClosed = resolve;
      });
      for (const conn of state.connections) conn.close();
      return closed;
    },
  };
}

/**
 * Kept-alive HTTP/1.1 connections to one upstream instance, owned by the gateway through
 * `Bun.connect`. Bun's `fetch` keeps at most 64 idle sockets per process and reopens the
 * rest on every burst; owning the sockets keeps every connection warm and lets the gateway
 * tell "refused" (safe to try another instance) from "broke mid-request".
 */
import type { Socket } from "bun";

export interface UpstreamResponse {
  status: number;
  /** End-to-end headers as received (names lower-cased); connection-level ones are left out. */
  headers: [string, string][];
  /** Whether the upstream sent `x-request-id`. */
  hasRequestId: boolean;
  body: Uint8Array | null;
}

/** Headers about the connection, not the answer (RFC 9110 §7.6.1), and ones Bun sets itself. */
const CONNECTION_HEADERS = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "date", "trailer", "upgrade", "proxy-connection"]);

export type UpstreamFailure = "refused" | "broken" | "timeout";

export class UpstreamError extends Error {
  constructor(
    readonly kind: UpstreamFailure,
    message: string,
    /** True when the upstream may have seen the request (never for "refused"). */
    readonly maybeProcessed: boolean,
    /**
     * Not a byte of the answer arrived: the usual sign of an instance closing (idle timeout,
     * shutdown) as the request went out. An idempotent request may be sent again.
     */
    readonly noResponse = false,
  ) {
    super(message);
  }
}

export interface PoolOptions {
  maxConnections: number;
  timeoutMs: number;
  connectTimeoutMs: number;
  /** Idle connections older than this are closed before the upstream's own idle timeout. */
  idleMs: number;
}

interface Pending {
  resolve(r: UpstreamResponse): void;
  reject(e: UpstreamError): void;
  deadline: number;
  headOnly: boolean;
}

const CRLFCRLF = Buffer.from("\r\n\r\n");
const EMPTY = new Uint8Array(0);

/** Parser state of one response on one connection. */
class Connection {
  socket: Socket<Connection> | null = null;
  pending: Pending | null = null;
  lastUsed = 0;
  gotBytes = false;
  private head: Buffer | null = null;
  private status = 0;
  private headers: [string, string][] = [];
  private hasRequestId = false;
  private keepAlive = true;
  private body: Uint8Array | null = null;
  private filled = 0;
  /** -1: not reading a body; -2: chunked; -3: until close; else bytes expected. */
  private expect = -1;
  private chunked: Buffer | null = null;
  private unsent: Uint8Array | null = null;

  constructor(private readonly pool: Http1Pool) {}

  send(data: Uint8Array, pending: Pending): void {
    this.pending = pending;
    this.gotBytes = false;
    this.head = null;
    this.expect = -1;
    const written = this.socket!.write(data);
    if (written < data.length) this.unsent = data.subarray(Math.max(0, written));
  }

  drain(): void {
    if (!this.unsent || !this.socket) return;
    const written = this.socket.write(this.unsent);
    this.unsent = written >= this.unsent.length ? null : this.unsent.subarray(Math.max(0, written));
  }

  onData(chunk: Buffer): void {
    if (!this.pending) {
      // Bytes nobody asked for: the connection is out of step, drop it.
      this.socket?.end();
      return;
    }
    this.gotBytes = true;
    if (this.expect === -1) {
      this.head = this.head ? Buffer.concat([this.head, chunk]) : chunk;
      const end = this.head.indexOf(CRLFCRLF);
      if (end === -1) {
        if (this.head.length > 64 * 1024) this.fail("broken", "response head too large");
        return;
      }
      if (!this.parseHead(this.head.toString("latin1", 0, end))) return;
      const rest = this.head.subarray(end + 4);
      this.head = null;
      const expect = this.expect as number;
      if (expect === 0) return this.finish(EMPTY);
      // The usual case on loopback: the whole body came with the head. Bun hands each read
      // its own buffer, so the body can be a view of it instead of a copy.
      if (expect > 0 && rest.length >= expect) return this.finish(rest.subarray(0, expect));
      if (rest.length > 0) this.onBody(rest);
      return;
    }
    this.onBody(chunk);
  }

  private parseHead(text: string): boolean {
    const lines = text.split("\r\n");
    const statusLine = lines[0]!;
    const status = Number(statusLine.slice(9, 12));
    if (!statusLine.startsWith("HTTP/1.") || !(status >= 100 && status < 600)) {
      this.fail("broken", "malformed status line");
      return false;
    }
    this.status = status;
    this.keepAlive = statusLine[7] === "1";
    this.headers = [];
    this.hasRequestId = false;
    let length = -3;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === "content-length") length = Number(value);
      else if (name === "transfer-encoding" && value.toLowerCase().includes("chunked")) length = -2;
      else if (name === "connection") this.keepAlive = value.toLowerCase() !== "close";
      else if (name === "x-request-id") this.hasRequestId = true;
      if (!CONNECTION_HEADERS.has(name)) this.headers.push([name, value]);
    }
    if (this.pending!.headOnly || status === 204 || status === 304 || status < 200) length = 0;
    if (!(length >= -3) || (length >= 0 && !Number.isSafeInteger(length))) {
      this.fail("broken", "bad content-length");
      return false;
    }
    this.expect = length;
    if (length === -3) this.keepAlive = false;
    this.body = null;
    this.filled = 0;
    this.chunked = null;
    return true;
  }

  private onBody(chunk: Uint8Array): void {
    if (this.expect > 0) {
      this.body ??= new Uint8Array(this.expect);
      const take = Math.min(chunk.length, this.expect - this.filled);
      this.body!.set(chunk.subarray(0, take), this.filled);
      this.filled += take;
      if (this.filled === this.expect) this.finish(this.body!);
      return;
    }
    // Chunked or until-close: rare for our services; collect and decode when complete.
    this.chunked = this.chunked ? Buffer.concat([this.chunked, chunk]) : Buffer.from(chunk);
    if (this.expect === -2) {
      const decoded = decodeChunked(this.chunked);
      if (decoded === "invalid") this.fail("broken", "malformed chunked body");
      else if (decoded) this.finish(decoded);
    }
  }

  /** The upstream closed the connection. */
  onClose(): void {
    this.socket = null;
    if (this.pending && this.expect === -3 && this.chunked) return this.finish(this.chunked);
    if (this.pending) this.fail("broken", "upstream closed the connection");
    this.pool.forget(this);
  }

  private finish(body: Uint8Array): void {
    const pending = this.pending!;
    this.pending = null;
    this.body = null;
    this.chunked = null;
    this.expect = -1;
    const response = { status: this.status, headers: this.headers, hasRequestId: this.hasRequestId, body };
    if (this.keepAlive && this.socket) this.pool.release(this);
    else {
      this.socket?.end();
      this.pool.forget(this);
    }
    pending.resolve(response);
  }

  fail(kind: UpstreamFailure, message: string): void {
    const pending = this.pending;
    this.pending = null;
    this.socket?.terminate();
    this.socket = null;
    this.pool.forget(this);
    pending?.reject(new UpstreamError(kind, message, kind !== "refused", kind === "broken" && !this.gotBytes));
  }
}

/** Decodes a complete chunked body; null while incomplete. */
function decodeChunked(buf: Buffer): Uint8Array | null | "invalid" {
  const parts: Uint8Array[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = buf.indexOf("\r\n", at, "latin1");
    if (lineEnd === -1) return null;
    const size = Number.parseInt(buf.toString("latin1", at, lineEnd).split(";")[0]!, 16);
    if (!Number.isFinite(size) || size < 0) return "invalid";
    at = lineEnd + 2;
    if (size === 0) {
      // Trailers end with an empty line.
      return buf.indexOf("\r\n\r\n", lineEnd, "latin1") !== -1 || buf.subarray(at, at + 2).toString() === "\r\n" ? Buffer.concat(parts) : null;
    }
    if (buf.length < at + size + 2) return null;
    parts.push(buf.subarray(at, at + size));
    at += size + 2;
  }
}

export class Http1Pool {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly waiting: { resolve(c: Connection): void; reject(e: UpstreamError): void; deadline: number }[] = [];
  private readonly sweeper: Timer;
  private opening = 0;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly o: PoolOptions,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(100, Math.max(10, o.timeoutMs / 10)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.all.size;
  }

  get busy(): number {
    return this.all.size - this.idle.length;
  }

  /** Sends one request (head and body already encoded) and reads the response. */
  async request(data: Uint8Array, headOnly: boolean): Promise<UpstreamResponse> {
    const deadline = Date.now() + this.o.timeoutMs;
    const conn = await this.acquire(deadline);
    return new Promise<UpstreamResponse>((resolve, reject) => conn.send(data, { resolve, reject, deadline, headOnly }));
  }

  private acquire(deadline: number): Promise<Connection> | Connection {
    const conn = this.idle.pop();
    if (conn) return conn;
    if (this.all.size + this.opening < this.o.maxConnections) return this.open();
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject, deadline }));
  }

  private async open(): Promise<Connection> {
    const conn = new Connection(this);
    this.opening++;
    let timer: Timer | undefined;
    try {
      const connecting = Bun.connect<Connection>({
        hostname: this.host,
        port: this.port,
        data: conn,
        socket: {
          data: (s, chunk) => s.data.onData(chunk),
          close: (s) => s.data.onClose(),
          drain: (s) => s.data.drain(),
          error: (s) => s.data.fail("broken", "socket error"),
        },
      });
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new UpstreamError("refused", "connect timed out", false)), this.o.connectTimeoutMs);
      });
      const socket = await Promise.race([connecting, timeout]).catch((e) => {
        connecting.then((s) => s.terminate()).catch(() => {});
        throw e instanceof UpstreamError ? e : new UpstreamError("refused", `cannot connect to ${this.host}:${this.port}`, false);
      });
      socket.setNoDelay(true);
      conn.socket = socket;
      this.all.add(conn);
      return conn;
    } finally {
      clearTimeout(timer);
      this.opening--;
    }
  }

  /** A connection finished a response and can carry the next request. */
  release(conn: Connection): void {
    conn.lastUsed = Date.now();
    const waiter = this.waiting.shift();
    if (waiter) waiter.resolve(conn);
    else this.idle.push(conn);
  }

  forget(conn: Connection): void {
    if (!this.all.delete(conn)) return;
    const i = this.idle.indexOf(conn);
    if (i !== -1) this.idle.splice(i, 1);
    // A slot opened up: let the longest waiter open a fresh connection.
    const waiter = this.waiting.shift();
    if (waiter) this.open().then(waiter.resolve, waiter.reject);
  }

  private sweep(): void {
    const now = Date.now();
    for (const conn of this.all) {
      if (conn.pending && conn.pending.deadline <= now) conn.fail("timeout", "upstream did not answer in time");
    }
    while (this.waiting.length > 0 && this.waiting[0]!.deadline <= now)
      this.waiting.shift()!.reject(new UpstreamError("timeout", "no upstream connection free in time", false));
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const conn = this.idle[i]!;
      if (now - conn.lastUsed > this.o.idleMs) {
        this.idle.splice(i, 1);
        this.all.delete(conn);
        conn.socket?.end();
      }
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const conn of this.all) conn.socket?.end();
    this.all.clear();
    this.idle.length = 0;
  }
}

/**
 * Kept-alive HTTP/1.1 connections to one upstream instance, owned by the gateway through
 * `Bun.connect`. Bun's `fetch` keeps at most 64 idle sockets per process and reopens the
 * rest on every burst; owning the sockets keeps every connection warm and lets the gateway
 * tell "refused" (safe to try another instance) from "broke mid-request".
 */
import type { Socket } from "bun";
import { byLength, forEachHeaderLine, hasBareLineBreak, isNamed } from "./head-text.ts";
import { Outbox } from "./outbox.ts";

/** Headers about the connection, not the answer (RFC 9110 §7.6.1), and ones Bun sets itself. */
const CONNECTION_HEADERS = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "date", "trailer", "upgrade", "proxy-connection"]);
/** Of those, the ones an answer passed on byte for byte must not have. */
const HOP_BY_HOP_HEADERS = new Set([...CONNECTION_HEADERS].filter((n) => n !== "content-length" && n !== "date"));
/** Control characters other than line breaks (those outside a CR LF are looked for apart): a head no client should be given. */
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;
/** The header names the parser looks at (those above and x-request-id), by length. */
const KNOWN_BY_LENGTH = byLength([...CONNECTION_HEADERS, "x-request-id"]);

const EMPTY = new Uint8Array(0);

/** An upstream's answer. */
export class UpstreamResponse {
  private list: [string, string][] | null = null;

  constructor(
    readonly status: number,
    /** The head as received, for the header list when someone asks for it. */
    private readonly head: string,
    /** Whether the upstream sent `x-request-id`. */
    readonly hasRequestId: boolean,
    /** The bytes the body is in (often the read it came in), and where. */
    private readonly source: Uint8Array,
    private readonly bodyStart: number,
    private readonly bodyEnd: number,
    /** Where the answer starts in `source` when it can be passed on as it is, else -1. */
    private readonly rawStart: number,
  ) {}

  get body(): Uint8Array {
    return this.bodyStart === this.bodyEnd ? EMPTY : this.source.subarray(this.bodyStart, this.bodyEnd);
  }

  /**
   * The whole answer as it came (status line, head, body) when it came in one read, in
   * HTTP/1.1, with a content-length and nothing about the connection in its head: it can
   * be passed on byte for byte.
   */
  get raw(): Uint8Array | null {
    return this.rawStart < 0 ? null : this.source.subarray(this.rawStart, this.bodyEnd);
  }

  /**
   * End-to-end headers as received (names as the upstream spelled them); connection-level
   * ones are left out. Made when first asked for: an answer passed on byte for byte never needs it.
   */
  get headers(): [string, string][] {
    if (this.list !== null) return this.list;
    const list: [string, string][] = [];
    forEachHeaderLine(this.head, list, (list, text, start, colon, end) => {
      const name = text.slice(start, colon);
      if (!CONNECTION_HEADERS.has(name.toLowerCase())) list.push([name, text.slice(colon + 1, end).trim()]);
    });
    this.list = list;
    return list;
  }
}

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
    /**
     * It failed only because another request written with it did (a batch-mate's answer
     * closed or broke the connection): nothing is wrong with this request or the instance.
     */
    readonly collateral = false,
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

/**
 * A request waiting for its answer. It is the caller's own object, so that the pool allocates
 * nothing per request; the pool sets `deadline` when it takes the request. `answered` and
 * `failed` run inside the pool's read loop and must not throw.
 */
export interface PendingRequest {
  deadline: number;
  readonly headOnly: boolean;
  /** Identical hot reads share a key; the pool learns each key's answer size from it. */
  readonly batchKey: string | null;
  answered(r: UpstreamResponse): void;
  /** Always an UpstreamError: the pool throws nothing else at its callers. */
  failed(e: UpstreamError): void;
}

const CRLFCRLF = Buffer.from("\r\n\r\n");
/** Most requests written together on one connection. */
const MAX_BATCH = 64;
/**
 * Most answer bytes a batch may be owed. Bun.serve cuts a pipelined connection after a few
 * megabytes of answers; well under that, a batch is never cut for its size.
 */
const MAX_BATCH_ANSWER_BYTES = 512 * 1024;

/**
 * One kept-alive connection: the requests written on it, answered in order, and the parser
 * state of the answer being read. Usually one request at a time; identical hot reads that
 * arrive together are written together (see `Http1Pool.dispatch`).
 */
class Connection {
  socket: Socket<Connection> | null = null;
  /** Requests written or about to be, oldest first: each answer belongs to the first. */
  readonly queue: PendingRequest[] = [];
  lastUsed = 0;
  /** Requests joining this connection this turn of the event loop, written together after it. */
  batch: Uint8Array[] | null = null;
  private gotBytes = false;
  private head: Buffer | null = null;
  private status = 0;
  private headText = "";
  private hasRequestId = false;
  private keepAlive = true;
  /** The head can be passed on as it is (see `UpstreamResponse.raw`). */
  private passable = false;
  private body: Uint8Array | null = null;
  private filled = 0;
  /** -1: not reading a body; -2: chunked; -3: until close; else bytes expected. */
  private expect = -1;
  private chunked: Buffer | null = null;
  private readonly out = new Outbox();

  constructor(private readonly pool: Http1Pool) {}

  send(data: Uint8Array, pending: PendingRequest): void {
    this.queue.push(pending);
    this.write(data);
  }

  /** Adds a request to this turn's batch; returns how many it holds now. */
  gather(data: Uint8Array, pending: PendingRequest): number {
    this.queue.push(pending);
    this.batch ??= [];
    this.batch.push(data);
    return this.batch.length;
  }

  /** Writes the batch gathered so far, if the connection still has one. */
  writeBatch(): void {
    const batch = this.batch;
    this.batch = null;
    if (batch !== null) this.write(batch.length === 1 ? batch[0]! : Buffer.concat(batch));
  }

  write(data: Uint8Array): void {
    if (this.socket !== null) this.out.write(this.socket, data); // else closed meanwhile: the queue was failed
  }

  drain(): void {
    if (this.socket !== null) this.out.drain(this.socket);
  }

  onData(chunk: Buffer): void {
    // A read may hold the end of one answer and the start of the next: take them in turn,
    // by offset, so that no view of the read is made but the ones an answer keeps.
    let buf = chunk;
    let at = 0;
    while (at < buf.length) {
      if (this.queue.length === 0) {
        // Bytes nobody asked for: the connection is out of step, drop it.
        this.fail("broken", "unrequested bytes from upstream");
        return;
      }
      this.gotBytes = true;
      if (this.expect !== -1) at = this.onBody(buf, at);
      else {
        if (this.head !== null) {
          buf = Buffer.concat([this.head, at === 0 ? buf : buf.subarray(at)]);
          at = 0;
          this.head = null;
        }
        at = this.onHead(buf, at);
      }
      if (at === -1) return;
    }
  }

  /** Reads the head at `at`; returns where what follows it starts, or -1 when it needs more. */
  private onHead(buf: Buffer, at: number): number {
    const end = buf.indexOf(CRLFCRLF, at);
    if (end === -1) {
      this.head = at === 0 ? buf : buf.subarray(at);
      if (this.head.length > 64 * 1024) this.fail("broken", "response head too large");
      return -1;
    }
    if (!this.parseHead(buf.toString("latin1", at, end))) return -1;
    const bodyStart = end + 4;
    const expect = this.expect;
    // The usual case on loopback: the whole body came with the head. Bun hands each read
    // its own buffer, so the answer can keep a view of it instead of a copy.
    if (expect === 0 || (expect > 0 && buf.length - bodyStart >= expect)) {
      this.finish(buf, bodyStart, bodyStart + expect, at);
      return bodyStart + expect;
    }
    return bodyStart;
  }

  /**
   * One pass over the head: no split into lines, and only names as long as one we act on are
   * looked at, in place. The header list is made later, if at all.
   */
  private parseHead(text: string): boolean {
    const status = Number(text.slice(9, 12));
    if (!text.startsWith("HTTP/1.") || !(status >= 100 && status < 600) || CONTROL.test(text) || hasBareLineBreak(text)) {
      this.fail("broken", "malformed response head");
      return false;
    }
    if (status < 200) {
      // The gateway never asks for one (it sends no Expect) and has no way to pass it on.
      this.fail("broken", "interim (1xx) answer");
      return false;
    }
    this.status = status;
    this.keepAlive = text.charCodeAt(7) === 49; // HTTP/1.1 keeps the connection unless it says otherwise
    this.passable = this.keepAlive;
    this.headText = text;
    this.hasRequestId = false;
    // The length the head declares, read into `expect`: -3 (until close) when it declares none.
    this.expect = -3;
    forEachHeaderLine(text, this, Connection.onHeader);
    let length = this.expect;
    if (this.queue[0]!.headOnly || status === 204 || status === 304) length = 0;
    if (!(length >= -3) || (length >= 0 && !Number.isSafeInteger(length))) {
      this.fail("broken", "bad content-length");
      return false;
    }
    this.expect = length;
    if (length === -3) this.keepAlive = false;
    this.passable &&= length >= 0;
    this.body = null;
    this.filled = 0;
    this.chunked = null;
    return true;
  }

  /** One header line of an answer's head: only the names the pool acts on are looked at. */
  private static onHeader(conn: Connection, text: string, start: number, colon: number, end: number): void {
    const candidates = KNOWN_BY_LENGTH[colon - start];
    if (candidates === undefined) return;
    let known = "";
    for (const name of candidates) if (isNamed(text, start, name)) known = name;
    if (known === "x-request-id") conn.hasRequestId = true;
    else if (known === "content-length") conn.expect = Number(text.slice(colon + 1, end));
    else if (known === "transfer-encoding" && text.slice(colon + 1, end).toLowerCase().includes("chunked")) conn.expect = -2;
    else if (known === "connection") conn.keepAlive = text.slice(colon + 1, end).trim().toLowerCase() !== "close";
    if (HOP_BY_HOP_HEADERS.has(known)) conn.passable = false;
  }

  /** Reads body bytes at `at`; returns where what follows this answer starts, or -1. */
  private onBody(buf: Buffer, at: number): number {
    if (this.expect > 0) {
      this.body ??= new Uint8Array(this.expect);
      const take = Math.min(buf.length - at, this.expect - this.filled);
      this.body.set(buf.subarray(at, at + take), this.filled);
      this.filled += take;
      if (this.filled === this.expect) this.finish(this.body, 0, this.expect, -1);
      return at + take;
    }
    // Chunked or until-close: rare for our services; collect and decode when complete.
    // Not kept alive (see finish), so nothing follows them on this connection.
    const part = buf.subarray(at);
    this.chunked = this.chunked ? Buffer.concat([this.chunked, part]) : Buffer.from(part);
    if (this.expect === -2) {
      const decoded = decodeChunked(this.chunked);
      if (decoded === "invalid") this.fail("broken", "malformed chunked body");
      else if (decoded) this.finish(decoded, 0, decoded.length, -1);
    }
    return -1;
  }

  /** The upstream closed the connection. */
  onClose(): void {
    if (this.queue.length > 0 && this.expect === -3 && this.chunked) this.finish(this.chunked, 0, this.chunked.length, -1);
    this.socket = null;
    if (this.queue.length > 0) this.fail("broken", "upstream closed the connection");
    this.pool.forget(this);
  }

  /** The oldest request's answer: its body is `source[start, end)`; the whole answer starts at `rawStart`. */
  private finish(source: Uint8Array, start: number, end: number, rawStart: number): void {
    const pending = this.queue.shift()!;
    if (pending.batchKey !== null) this.pool.noteAnswerSize(pending.batchKey, end - start);
    const response = new UpstreamResponse(this.status, this.headText, this.hasRequestId, source, start, end, this.passable ? rawStart : -1);
    // A chunked answer may end before its trailers are read: never reuse the connection then.
    const reusable = this.keepAlive && this.expect !== -2 && this.socket !== null;
    this.body = null;
    this.chunked = null;
    this.expect = -1;
    this.gotBytes = false;
    if (!reusable) this.fail("broken", "upstream closed the connection after an answer", true);
    else if (this.queue.length === 0) this.pool.release(this);
    pending.answered(response);
  }

  /** The oldest request failed (or, with `othersOnly`, none did); those behind it got no answer. */
  fail(kind: UpstreamFailure, message: string, othersOnly = false): void {
    const queue = this.queue.splice(0);
    const first = othersOnly ? undefined : queue.shift();
    this.socket?.terminate();
    this.socket = null;
    this.batch = null;
    this.pool.forget(this);
    first?.failed(new UpstreamError(kind, message, kind !== "refused", kind === "broken" && !this.gotBytes));
    for (const p of queue) p.failed(new UpstreamError("broken", `${message} (before this request was answered)`, true, true, true));
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
  /** Connections gathering a batch this turn, by batch key. */
  private readonly gathering = new Map<string, Connection>();
  /** The latest answer's body size for each batch key: a batch is made only of answers known to be small. */
  private readonly answerSizes = new Map<string, number>();
  private flushScheduled = false;

  /** `host:port`, as the Host header sent upstream. */
  readonly authority: string;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly o: PoolOptions,
  ) {
    this.authority = `${host.includes(":") ? `[${host}]` : host}:${port}`;
    this.sweeper = setInterval(() => this.sweep(), Math.min(100, Math.max(10, o.timeoutMs / 10)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.all.size;
  }

  get busy(): number {
    return this.all.size - this.idle.length;
  }

  /**
   * Sends one request (head and body already encoded); the answer or the failure comes back
   * through `pending`, so that the caller's one object is the only one per request.
   *
   * Requests with the same `batchKey` (identical hot reads) that arrive in one turn of the
   * event loop go out on one connection in one write, HTTP/1.1-pipelined, and their answers
   * come back in one read: two system calls for the lot instead of two each. Only requests
   * that cost the same share a connection, so none waits behind a slower one, and only while
   * their answers are known to be small (the latest one for that key), so that no batch is
   * cut for its size. A key whose answer size is not known yet goes alone.
   */
  dispatch(data: Uint8Array, pending: PendingRequest, key: string | null): void {
    pending.deadline = Date.now() + this.o.timeoutMs;
    const capacity = key === null ? 1 : this.batchCapacity(key);
    const batchKey = capacity > 1 ? key : null;
    if (batchKey !== null) {
      const gathering = this.gathering.get(batchKey);
      // A connection that failed meanwhile has no batch left: start another.
      if (gathering !== undefined && gathering.batch !== null) {
        // A full batch goes now; the next request starts another.
        if (gathering.gather(data, pending) >= capacity) {
          this.gathering.delete(batchKey);
          gathering.writeBatch();
        }
        return;
      }
    }
    const conn = this.idle.pop();
    if (conn !== undefined) {
      if (batchKey === null) return conn.send(data, pending);
      conn.gather(data, pending);
      this.gathering.set(batchKey, conn);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flush);
      }
      return;
    }
    const send = (c: Connection) => c.send(data, pending);
    const failed = (e: UpstreamError) => pending.failed(e);
    if (this.all.size + this.opening < this.o.maxConnections) this.open().then(send, failed);
    else this.waiting.push({ resolve: send, reject: failed, deadline: pending.deadline });
  }

  private batchCapacity(key: string): number {
    const size = this.answerSizes.get(key);
    if (size === undefined) return 1;
    return Math.min(MAX_BATCH, Math.floor(MAX_BATCH_ANSWER_BYTES / Math.max(size, 1)));
  }

  noteAnswerSize(key: string, bytes: number): void {
    if (this.answerSizes.get(key) === bytes) return;
    // Keys are a few hot targets; a client inventing query strings must not grow this.
    if (this.answerSizes.size >= 1024) this.answerSizes.clear();
    this.answerSizes.set(key, bytes);
  }

  /** Writes each batch gathered this turn. */
  private readonly flush = () => {
    this.flushScheduled = false;
    for (const conn of this.gathering.values()) conn.writeBatch();
    this.gathering.clear();
  };

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
      const oldest = conn.queue[0];
      if (oldest !== undefined && oldest.deadline <= now) conn.fail("timeout", "upstream did not answer in time");
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

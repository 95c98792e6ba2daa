/**
 * Kept-alive HTTP/1.1 connections to one upstream instance, owned by the gateway through
 * `Bun.connect`. Bun's `fetch` keeps at most 64 idle sockets per process and reopens the
 * rest on every burst; owning the sockets keeps every connection warm and lets the gateway
 * tell "refused" (safe to try another instance) from "broke mid-request".
 */
import { UpstreamError } from "./answer.ts";
import { Connection, type ConnectionOwner, type PendingRequest } from "./connection.ts";

export interface PoolOptions {
  maxConnections: number;
  timeoutMs: number;
  connectTimeoutMs: number;
  /** Idle connections older than this are closed before the upstream's own idle timeout. */
  idleMs: number;
}

/** Most requests written together on one connection. */
const MAX_BATCH = 64;
/**
 * Most answer bytes a batch may be owed. Bun.serve cuts a pipelined connection after a few
 * megabytes of answers; well under that, a batch is never cut for its size.
 */
const MAX_BATCH_ANSWER_BYTES = 512 * 1024;

/** How the balancer reaches one instance: kept-alive HTTP/1.1 connections, or the multiplexed channel (mux-pool.ts). */
export interface InstancePool {
  /** `host:port`, as the Host header sent upstream. */
  readonly authority: string;
  /** Connections open, and of those the ones with requests waiting on them. */
  readonly size: number;
  readonly busy: number;
  dispatch(data: Uint8Array, pending: PendingRequest, key: string | null): void;
  close(): void;
}

export class Http1Pool implements ConnectionOwner, InstancePool {
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

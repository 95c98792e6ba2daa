/**
 * One kept-alive HTTP/1.1 connection of the load generator, on a raw `Bun.connect` socket:
 * a pre-encoded request goes out, the parser says when the response is complete. Bun's
 * `fetch` reached less than half of wrk's rate here; raw sockets get close to it.
 */
import type { Socket } from "bun";
import { ResponseParser } from "./response-parser.ts";

/** An HTTP status, or why no response came. */
export type Outcome = number | "timeout" | "connection";

/** Called once per request: its outcome and, for an error answer that names one, its code. */
export type OnDone = (outcome: Outcome, code?: string) => void;

export class HttpConnection {
  private socket: Socket<HttpConnection> | null = null;
  private unsent: Uint8Array | null = null;
  private onDone: OnDone | null = null;
  private readonly parser = new ResponseParser((status, close, code) => this.settle(status, close, code));
  /** When the request in flight was written (performance.now()), or -1 when idle. */
  sentAt = -1;
  closed = false;

  private constructor() {}

  static async open(hostname: string, port: number): Promise<HttpConnection> {
    const conn = new HttpConnection();
    conn.socket = await Bun.connect<HttpConnection>({
      hostname,
      port,
      data: conn,
      socket: {
        data: (s, chunk) => s.data.received(chunk),
        drain: (s) => s.data.flush(),
        close: (s) => s.data.lost(),
        error: (s) => s.data.lost(),
        end: (s) => s.data.lost(),
      },
    });
    conn.socket.setNoDelay(true);
    return conn;
  }

  get idle(): boolean {
    return !this.closed && this.onDone === null;
  }

  /** A request is in flight. */
  get busy(): boolean {
    return this.onDone !== null;
  }

  send(request: Uint8Array, onDone: OnDone): void {
    if (!this.idle) throw new Error("send on a busy or closed connection");
    this.onDone = onDone;
    this.sentAt = performance.now();
    this.unsent = request;
    this.flush();
  }

  /** Gives up on the request in flight (its deadline passed) and drops the connection. */
  abort(outcome: Outcome): void {
    const done = this.onDone;
    this.onDone = null;
    this.close();
    done?.(outcome);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket?.end();
  }

  private flush(): void {
    if (!this.unsent || !this.socket) return;
    const written = this.socket.write(this.unsent);
    this.unsent = written >= this.unsent.length ? null : this.unsent.subarray(Math.max(0, written));
  }

  private received(chunk: Buffer): void {
    try {
      this.parser.push(chunk);
    } catch {
      this.abort("connection");
    }
  }

  private settle(status: number, close: boolean, code: string | undefined): void {
    const done = this.onDone;
    this.onDone = null;
    this.sentAt = -1;
    // Marked before the callback, which may send the next request at once.
    if (close) this.close();
    done?.(status, code);
  }

  private lost(): void {
    this.closed = true;
    if (this.onDone) this.abort("connection");
  }
}

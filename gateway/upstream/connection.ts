/**
 * One kept-alive HTTP/1.1 connection to an upstream instance, and the reading of the answers
 * that come back on it: the requests written on it are answered in order, and the parser's
 * state is that of the answer being read. The requests' bytes are made beside it
 * (request-encoding.ts).
 */
import type { Socket } from "bun";
import { SocketOutbox } from "../http1/socket-outbox.ts";
import { UpstreamAnswer, UpstreamError, type UpstreamFailure } from "./answer.ts";
import { AnswerHead, CHUNKED, UNTIL_CLOSE } from "./answer-head.ts";

/**
 * A request waiting for its answer. It is the caller's own object, so that the pool allocates
 * nothing per request; the pool sets `deadline` when it takes the request. `onAnswer` and
 * `failed` run inside the pool's read loop and must not throw.
 */
export interface PendingRequest {
  deadline: number;
  readonly headOnly: boolean;
  /** Identical hot reads share a key; the pool learns each key's answer size from it. */
  readonly batchKey: string | null;
  onAnswer(answer: UpstreamAnswer): void;
  /** Always an UpstreamError: the pool throws nothing else at its callers. */
  failed(e: UpstreamError): void;
}

const CRLFCRLF = Buffer.from("\r\n\r\n");

/** What a connection tells the pool it belongs to. */
export interface ConnectionOwner {
  /** Done with its answers: it can carry the next request. */
  release(conn: Connection): void;
  /** Closed or failed: no longer one of the pool's. */
  forget(conn: Connection): void;
  noteAnswerSize(key: string, bytes: number): void;
}

/**
 * One kept-alive connection: the requests written on it, answered in order, and the parser
 * state of the answer being read. Usually one request at a time; identical hot reads that
 * arrive together are written together (see `Http1Pool.dispatch`).
 */
export class Connection {
  socket: Socket<Connection> | null = null;
  /** Requests written or about to be, oldest first: each answer belongs to the first. */
  readonly queue: PendingRequest[] = [];
  lastUsed = 0;
  /** Requests joining this connection this turn of the event loop, written together after it. */
  batch: Uint8Array[] | null = null;
  private gotBytes = false;
  /** The start of a head whose end has not come yet. */
  private head: Buffer | null = null;
  /** The head of the answer being read. */
  private readonly answer = new AnswerHead();
  private body: Uint8Array | null = null;
  private filled = 0;
  /** -1: not reading a body; CHUNKED; UNTIL_CLOSE; else bytes expected. */
  private expect = -1;
  private chunked: Buffer | null = null;
  private readonly out = new SocketOutbox();

  constructor(private readonly pool: ConnectionOwner) {}

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

  private parseHead(text: string): boolean {
    const problem = this.answer.read(text, this.queue[0]!.headOnly);
    if (problem !== null) {
      this.fail("broken", problem);
      return false;
    }
    this.expect = this.answer.length;
    this.body = null;
    this.filled = 0;
    this.chunked = null;
    return true;
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
    if (this.expect === CHUNKED) {
      const decoded = decodeChunked(this.chunked);
      if (decoded === "invalid") this.fail("broken", "malformed chunked body");
      else if (decoded) this.finish(decoded, 0, decoded.length, -1);
    }
    return -1;
  }

  /** The upstream closed the connection. */
  onClose(): void {
    if (this.queue.length > 0 && this.expect === UNTIL_CLOSE && this.chunked) this.finish(this.chunked, 0, this.chunked.length, -1);
    this.socket = null;
    if (this.queue.length > 0) this.fail("broken", "upstream closed the connection");
    this.pool.forget(this);
  }

  /** The oldest request's answer: its body is `source[start, end)`; the whole answer starts at `rawStart`. */
  private finish(source: Uint8Array, start: number, end: number, rawStart: number): void {
    const pending = this.queue.shift()!;
    if (pending.batchKey !== null) this.pool.noteAnswerSize(pending.batchKey, end - start);
    const head = this.answer;
    const answer = new UpstreamAnswer(head.status, head.text, head.hasRequestId, source, start, end, head.passable ? rawStart : -1);
    // A chunked answer may end before its trailers are read: never reuse the connection then.
    const reusable = head.keepAlive && this.expect !== CHUNKED && this.socket !== null;
    this.body = null;
    this.chunked = null;
    this.expect = -1;
    this.gotBytes = false;
    if (!reusable) this.fail("broken", "upstream closed the connection after an answer", true);
    else if (this.queue.length === 0) this.pool.release(this);
    pending.onAnswer(answer);
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

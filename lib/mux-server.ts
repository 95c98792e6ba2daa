/**
 * A service's end of the multiplexed channel (mux-frames.ts): each record is a whole HTTP/1.1
 * request, answered by the service's own app (`app.handle`, so every hook, rule and error is
 * the one plain HTTP gets) and sent back under its id. The answers that are ready in one turn
 * of the event loop go out in one message. A service may answer its hottest request itself
 * (a fast path), for the requests its app would take as they are.
 */
import type { Elysia } from "elysia";
import { STATUS_CODES } from "node:http";
import { CONNECTION_HEADERS } from "./connection-headers.ts";
import { errorResponse } from "./errors.ts";
import { describeError, type Logger } from "./log.ts";
import { forEachRecord, GOAWAY_ID, MUX_PATH, RecordBatch } from "./mux-frames.ts";

const CRLFCRLF = Buffer.from("\r\n\r\n");
/** After GOAWAY, a connection with nothing in flight this long is closed by the service: its gateway should have closed it. */
const GOAWAY_LINGER_MS = 1000;

/** What the channel needs of Bun's server-side WebSocket. */
export interface MuxSocket {
  /** Bytes sent or queued; 0 when not sent. */
  send(message: Uint8Array): number;
  close(code?: number, reason?: string): void;
}

/** One gateway connection: what it has in flight and the answers gathered this turn. */
interface Channel {
  ws: MuxSocket;
  inFlight: number;
  answers: RecordBatch;
  flushing: boolean;
  idleSince: number;
}

export class MuxServer {
  private readonly channels = new Map<MuxSocket, Channel>();
  private goingAway = false;
  private sweeper: Timer | null = null;

  constructor(
    /** The app's own request handling (Elysia's `app.handle`). */
    private readonly handle: (request: Request) => Promise<Response>,
    private readonly log: Logger,
    private readonly fastPath: FastPath | null = null,
    /** Where request URLs are made to point, as a plain HTTP request's would. */
    private readonly origin = "http://127.0.0.1",
  ) {}

  readonly path = MUX_PATH;

  /** The handlers of the upgraded connection (Bun's WebSocket handler shape). */
  readonly websocket = {
    open: (ws: MuxSocket) => {
      const channel: Channel = { ws, inFlight: 0, answers: new RecordBatch(), flushing: false, idleSince: Date.now() };
      this.channels.set(ws, channel);
      if (this.goingAway) this.sayGoAway(channel);
    },
    message: (ws: MuxSocket, message: string | Buffer) => {
      const channel = this.channels.get(ws);
      if (channel === undefined) return;
      if (typeof message === "string" || !forEachRecord(message, (id, payload) => this.serve(channel, id, payload))) {
        this.log.warn("mux: malformed message, closing the connection", { bytes: message.length });
        ws.close(1002, "malformed message");
      }
    },
    close: (ws: MuxSocket) => {
      this.channels.delete(ws);
    },
  };

  /** Connections open now (for tests and metrics). */
  get connections(): number {
    return this.channels.size;
  }

  /**
   * The service is stopping: each connection is told GOAWAY, what was sent before it is still
   * answered, and its gateway closes it once nothing is in flight (or the service does, a
   * second after, should the gateway not).
   */
  goAway(): void {
    if (this.goingAway) return;
    this.goingAway = true;
    for (const channel of this.channels.values()) this.sayGoAway(channel);
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const c of this.channels.values()) if (c.inFlight === 0 && now - c.idleSince >= GOAWAY_LINGER_MS) c.ws.close(1001, "going away");
      if (this.channels.size === 0 && this.sweeper !== null) clearInterval(this.sweeper);
    }, 100);
    this.sweeper.unref();
  }

  private sayGoAway(channel: Channel): void {
    channel.answers.add(GOAWAY_ID, new Uint8Array(0));
    this.flushSoon(channel);
  }

  private serve(channel: Channel, id: number, payload: Buffer): void {
    channel.inFlight++;
    const request = MuxRequest.read(payload);
    const fast = request === null ? null : (this.fastPath?.(request) ?? null);
    const answered =
      fast !== null
        ? fast.then((a) => encodeAnswer(a.status, a.headers, Buffer.from(a.body)))
        : (request === null ? Promise.resolve(errorResponse("BAD_GATEWAY", "The gateway sent a request the service cannot read")) : this.handle(request.toRequest(this.origin)))
            .catch((e: unknown) => {
              this.log.error("mux: unhandled error", describeError(e));
              return errorResponse("INTERNAL_ERROR", "Internal error");
            })
            .then((response) => answerBytes(response, request?.method === "HEAD"));
    void answered.then((bytes) => {
      channel.inFlight--;
      channel.idleSince = Date.now();
      channel.answers.add(id, bytes);
      this.flushSoon(channel);
    });
  }

  private flushSoon(channel: Channel): void {
    if (channel.flushing) return;
    channel.flushing = true;
    setImmediate(() => {
      channel.flushing = false;
      for (const message of channel.answers.take()) {
        // 0: not sent (closed, or past Bun's backpressure limit): closing makes the gateway
        // fail what it has in flight here at once instead of when each times out.
        if (channel.ws.send(message) === 0) return channel.ws.close(1011, "answers could not be sent");
      }
    });
  }
}

/** A request record as read off the channel: an HTTP/1.1 request with its whole body. */
export class MuxRequest {
  private constructor(
    readonly method: string,
    /** Path and query, as sent. */
    readonly target: string,
    /** Names in lower case, in the order sent. */
    readonly headers: [string, string][],
    readonly body: Buffer,
  ) {}

  /** The record's request, or null when it is not an HTTP/1.1 request with its whole body. */
  static read(payload: Buffer): MuxRequest | null {
    const end = payload.indexOf(CRLFCRLF);
    if (end === -1) return null;
    const lines = payload.toString("latin1", 0, end).split("\r\n");
    const [method, target, version] = lines[0]!.split(" ");
    if (version !== "HTTP/1.1" || method === undefined || target === undefined || !target.startsWith("/")) return null;
    const headers: [string, string][] = [];
    let length = 0;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(":");
      if (colon <= 0) return null;
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === "content-length") length = Number(value);
      headers.push([name, value]);
    }
    const body = payload.subarray(end + 4);
    return length === body.length ? new MuxRequest(method, target, headers, body) : null;
  }

  /** The value of a header sent once (`name` in lower case); null when absent or sent more than once. */
  header(name: string): string | null {
    let found: string | null = null;
    for (const [n, v] of this.headers)
      if (n === name) {
        if (found !== null) return null;
        found = v;
      }
    return found;
  }

  toRequest(origin: string): Request {
    const bodyless = this.body.length === 0 || this.method === "GET" || this.method === "HEAD";
    return new Request(origin + this.target, { method: this.method, headers: this.headers, body: bodyless ? null : this.body });
  }
}

/** A service's own answer to a request it took on its fast path. */
export interface MuxAnswer {
  status: number;
  headers: [string, string][];
  body: string;
}

/**
 * A request a service answers itself, without its app; null hands it to the app. Only for
 * requests the app would take as they are, with the answer the app would give.
 */
export type FastPath = (request: MuxRequest) => Promise<MuxAnswer> | null;

let dateSecond = -1;
let dateText = "";
/** The Date header's value, made once a second (as Bun.serve does). */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

/** An answer as HTTP/1.1 bytes with a Content-Length: `length` when it is not the body's own (a HEAD's). */
function encodeAnswer(status: number, headers: Iterable<[string, string]>, body: Uint8Array, length: number | string = body.length): Uint8Array {
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\n`;
  for (const [name, value] of headers) if (!CONNECTION_HEADERS.has(name)) head += `${name}: ${value}\r\n`;
  head += `date: ${httpDate()}\r\ncontent-length: ${length}\r\n\r\n`;
  const bytes = Buffer.from(head, "latin1");
  return body.length === 0 ? bytes : Buffer.concat([bytes, body]);
}

/** The app's answer as HTTP/1.1 bytes (no body after a HEAD), its headers as Bun.serve would send them. */
async function answerBytes(response: Response, headOnly: boolean): Promise<Uint8Array> {
  const blob = await response.blob();
  const body = await blob.bytes();
  const headers = [...response.headers];
  // A body made from a string has its type on the body, not in the headers; Bun.serve sends it.
  if (blob.type !== "" && !response.headers.has("content-type")) headers.push(["content-type", blob.type]);
  // A HEAD's answer has no body but says how long the GET's would be, when the app says so.
  if (headOnly) return encodeAnswer(response.status, headers, new Uint8Array(0), response.headers.get("content-length") ?? body.length);
  return encodeAnswer(response.status, headers, body);
}

// biome-ignore lint: any Elysia app will do
type AnyApp = Elysia<any, any, any, any, any, any, any>;

/**
 * Adds the channel's upgrade route to `app` (left out of its API docs); its requests are
 * served by `app` itself, but for those `fastPath` takes.
 */
export function serveMux(app: AnyApp, log: Logger, fastPath: FastPath | null = null): MuxServer {
  const mux = new MuxServer((request) => app.handle(request), log, fastPath);
  app.ws(MUX_PATH, {
    detail: { hide: true },
    open: (ws) => mux.websocket.open(ws.raw),
    message: (ws, message) => mux.websocket.message(ws.raw, message as Buffer),
    close: (ws) => mux.websocket.close(ws.raw),
  });
  return mux;
}

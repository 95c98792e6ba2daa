/**
 * The gateway's end of the multiplexed channel to one upstream instance (lib/mux-frames.ts):
 * every request in flight to it shares one WebSocket, the requests of one turn of the event
 * loop go out in one message, and the answers come back by id in any order. Over plain
 * HTTP/1.1 each request in flight to a service that answers asynchronously needs a connection
 * of its own (Bun.serve answers nothing pipelined behind such an answer), and a sale's backlog
 * of orders opened hundreds of them at once, each request and answer a system call and a
 * packet of its own.
 */
import { forEachRecord, GOAWAY_ID, MUX_PATH, RecordBatch } from "../../lib/mux-frames.ts";
import { UpstreamAnswer, UpstreamError } from "./answer.ts";
import { AnswerHead } from "./answer-head.ts";
import type { PendingRequest } from "./connection.ts";
import type { InstancePool, PoolOptions } from "./pool.ts";

const CRLFCRLF = Buffer.from("\r\n\r\n");
/** Ids run from 1 (0 is GOAWAY) and wrap long before a request could still be waiting on an old one. */
const MAX_ID = 0xffff_ffff;

/** One WebSocket to the instance and the requests waiting on it. */
class Channel {
  readonly ws: WebSocket;
  open = false;
  /** When the instance last sent a message on it (0: never). */
  lastHeard = 0;
  /** The instance said GOAWAY: nothing new goes on this channel; it closes once nothing waits. */
  goingAway = false;
  readonly waiting = new Map<number, PendingRequest>();
  readonly outgoing = new RecordBatch();
  flushing = false;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.binaryType = "nodebuffer";
  }
}

export class MuxPool implements InstancePool {
  readonly authority: string;
  private readonly url: string;
  /** The channel new requests go on (open or opening), if any. */
  private current: Channel | null = null;
  /** Every channel not yet closed, the current one included. */
  private readonly channels = new Set<Channel>();
  private nextId = 1;
  private readonly head = new AnswerHead();
  private readonly sweeper: Timer;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly o: Pick<PoolOptions, "timeoutMs" | "connectTimeoutMs">,
  ) {
    this.authority = `${host.includes(":") ? `[${host}]` : host}:${port}`;
    this.url = `ws://${this.authority}${MUX_PATH}`;
    this.sweeper = setInterval(() => this.sweep(), Math.min(100, Math.max(10, o.timeoutMs / 10)));
    this.sweeper.unref();
  }

  /** Open channels (one, or two while an instance that said GOAWAY finishes). */
  get size(): number {
    let n = 0;
    for (const c of this.channels) if (c.open) n++;
    return n;
  }

  /** Open channels with requests waiting. */
  get busy(): number {
    let n = 0;
    for (const c of this.channels) if (c.open && c.waiting.size > 0) n++;
    return n;
  }

  /** Sends one request (head and body already encoded); its answer or failure comes back through `pending`. */
  dispatch(data: Uint8Array, pending: PendingRequest, _key: string | null): void {
    pending.deadline = Date.now() + this.o.timeoutMs;
    const channel = this.current ?? this.connect();
    const id = this.nextId;
    this.nextId = id === MAX_ID ? 1 : id + 1;
    channel.waiting.set(id, pending);
    channel.outgoing.add(id, data);
    if (channel.open) this.flushSoon(channel);
  }

  private connect(): Channel {
    const channel = new Channel(this.url);
    this.current = channel;
    this.channels.add(channel);
    const timer = setTimeout(() => {
      if (!channel.open) this.closed(channel, "connect timed out");
    }, this.o.connectTimeoutMs);
    channel.ws.onopen = () => {
      clearTimeout(timer);
      channel.open = true;
      this.flushSoon(channel);
    };
    channel.ws.onmessage = (e: MessageEvent<Buffer>) => this.onMessage(channel, e.data);
    channel.ws.onclose = () => {
      clearTimeout(timer);
      this.closed(channel, channel.open ? "upstream closed the connection" : `cannot connect to ${this.authority}`);
    };
    return channel;
  }

  /** Sends what gathered on the channel this turn, after the turn. */
  private flushSoon(channel: Channel): void {
    if (channel.flushing) return;
    channel.flushing = true;
    setImmediate(() => {
      channel.flushing = false;
      if (channel.ws.readyState !== WebSocket.OPEN) return;
      for (const message of channel.outgoing.take()) channel.ws.send(message);
    });
  }

  private onMessage(channel: Channel, message: Buffer): void {
    channel.lastHeard = Date.now();
    const whole = forEachRecord(message, (id, payload) => {
      if (id === GOAWAY_ID) return this.goAway(channel);
      const pending = channel.waiting.get(id);
      // Gone already: it timed out and has been answered 504.
      if (pending === undefined) return;
      channel.waiting.delete(id);
      this.answer(pending, payload);
    });
    if (!whole) {
      channel.ws.close(1002, "malformed message");
      this.closed(channel, "malformed message from upstream");
      return;
    }
    if (channel.goingAway && channel.waiting.size === 0) this.finish(channel);
  }

  /** A channel that said GOAWAY has its answers: closed from this end, which lets its instance stop. */
  private finish(channel: Channel): void {
    this.channels.delete(channel);
    channel.ws.close(1000);
  }

  /** One record's answer to `pending`: a whole HTTP/1.1 answer with its Content-Length. */
  private answer(pending: PendingRequest, payload: Buffer): void {
    const end = payload.indexOf(CRLFCRLF);
    const problem = end === -1 ? "malformed response head" : this.head.read(payload.toString("latin1", 0, end), pending.headOnly);
    const bodyStart = end + 4;
    const length = this.head.length;
    if (problem !== null || length < 0 || payload.length - bodyStart !== length) {
      pending.failed(new UpstreamError("broken", problem ?? "answer not framed by its content-length", true));
      return;
    }
    const head = this.head;
    pending.onAnswer(new UpstreamAnswer(head.status, head.text, head.hasRequestId, payload, bodyStart, bodyStart + length, head.passable ? 0 : -1));
  }

  /** The instance is stopping: new requests open another channel; this one closes when it has answered. */
  private goAway(channel: Channel): void {
    channel.goingAway = true;
    if (this.current === channel) this.current = null;
    if (channel.waiting.size === 0) this.finish(channel);
  }

  /** The channel is gone: whatever waits on it failed. */
  private closed(channel: Channel, message: string): void {
    if (!this.channels.delete(channel)) return;
    if (this.current === channel) this.current = null;
    if (channel.ws.readyState === WebSocket.CONNECTING || channel.ws.readyState === WebSocket.OPEN) channel.ws.close();
    const waiting = [...channel.waiting.values()];
    channel.waiting.clear();
    // Never opened: no request reached the instance, so each may go to another.
    const error = channel.open ? new UpstreamError("broken", message, true, true) : new UpstreamError("refused", message, false);
    for (const p of waiting) p.failed(error);
  }

  private sweep(): void {
    const now = Date.now();
    for (const channel of this.channels) {
      let silent = false;
      for (const [id, pending] of channel.waiting)
        if (pending.deadline <= now) {
          channel.waiting.delete(id);
          // Asked at deadline - timeoutMs: nothing heard since means nothing heard for a whole timeout.
          if (channel.lastHeard < pending.deadline - this.o.timeoutMs) silent = true;
          pending.failed(new UpstreamError("timeout", "upstream did not answer in time", true));
        }
      // A request expired with nothing heard on the connection since it was made: the connection is
      // presumed dead (a peer gone without closing it), and the next request opens another instead
      // of waiting on it too. A slow answer on a connection that answers others keeps it.
      if (silent && channel.open) this.closed(channel, "upstream sent nothing in time");
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const channel of [...this.channels]) this.closed(channel, "the gateway is stopping");
  }
}

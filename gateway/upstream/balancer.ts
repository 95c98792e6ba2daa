/**
 * One upstream service behind one or more instances (`PRODUCT_URL=http://a:8002,http://b:8002`).
 * Requests go round-robin over the instances; one that refuses connections is skipped for a
 * while and the request goes to the next at once, since it never reached the refused one.
 */
import type { UpstreamAnswer, UpstreamError } from "./answer.ts";
import type { PendingRequest } from "./connection.ts";
import { MuxPool } from "./mux-pool.ts";
import { Http1Pool, type InstancePool, type PoolOptions } from "./pool.ts";

/** How requests travel to an instance: a kept-alive connection each, or all on one multiplexed channel. */
export type Transport = "http1" | "mux";

export interface UpstreamOptions extends PoolOptions {
  /** How long an instance that refused connections is skipped. */
  downMs: number;
  /** Default: http1. */
  transport?: Transport;
}

export class Upstream {
  readonly pools: InstancePool[];
  private readonly downUntil: number[];
  private next = 0;

  constructor(
    readonly name: string,
    urls: URL[],
    o: UpstreamOptions,
  ) {
    this.pools = urls.map((u) => {
      const host = u.hostname.replace(/^\[|\]$/g, "");
      const port = Number(u.port || 80);
      return o.transport === "mux" ? new MuxPool(host, port, o) : new Http1Pool(host, port, o);
    });
    this.downUntil = urls.map(() => 0);
    this.downMs = o.downMs;
  }

  private readonly downMs: number;

  /**
   * Sends a call and, through it, calls back with the answer or the failure. Goes on to the
   * next instance when one refuses (the request never reached it), and, for an idempotent
   * request, when one closed the connection without a byte of answer (it is shutting down or
   * timed the connection out).
   */
  send(call: UpstreamCall): void {
    call.upstream = this;
    this.attempt(call);
  }

  private attempt(call: UpstreamCall): void {
    const i = this.pick();
    const pool = this.pools[i]!;
    call.instance = i;
    // Never batched again after a failure: a retry goes alone.
    pool.dispatch(call.encode(pool.authority), call, call.tries === 0 ? call.batchKey : null);
  }

  /** Whether a failed call goes to another instance (then it has been sent again). */
  retry(call: UpstreamCall, e: UpstreamError): boolean {
    // A request that failed with its batch (a batch-mate's answer closed the connection, or
    // the connection broke mid-batch) would have succeeded alone: it is sent again alone, once.
    if (call.tries === 0 && call.batchKey !== null && call.idempotent && e.kind === "broken") {
      call.tries++;
      this.attempt(call);
      return true;
    }
    // An instance that refuses, or drops a connection without answering, is going away:
    // skip it for a while.
    if (e.kind === "refused" || (e.noResponse && !e.collateral)) this.downUntil[call.instance] = Date.now() + this.downMs;
    const again = e.kind === "refused" || (e.noResponse && call.idempotent);
    if (!again || call.tries >= this.pools.length) return false;
    call.tries++;
    this.attempt(call);
    return true;
  }

  /** The next instance not known to be down; when all are, the one that went down first. */
  private pick(): number {
    const n = this.pools.length;
    if (n === 1) return 0;
    const now = Date.now();
    for (let k = 0; k < n; k++) {
      const i = (this.next + k) % n;
      if (this.downUntil[i]! <= now) {
        this.next = (i + 1) % n;
        return i;
      }
    }
    let best = 0;
    for (let i = 1; i < n; i++) if (this.downUntil[i]! < this.downUntil[best]!) best = i;
    this.downUntil[best] = 0;
    return best;
  }

  close(): void {
    for (const p of this.pools) p.close();
  }
}

/**
 * One request to an upstream, across its attempts. The caller's own object (the proxy's
 * record of the request extends it), so that the pool and the retries need no other.
 */
export abstract class UpstreamCall implements PendingRequest {
  deadline = 0;
  /** Attempts after the first, and the instance of the latest. */
  tries = 0;
  instance = 0;
  upstream: Upstream | null = null;

  abstract readonly headOnly: boolean;
  abstract readonly idempotent: boolean;
  /** Identical hot reads share a key (see `Http1Pool.dispatch`); null for others. */
  abstract readonly batchKey: string | null;
  /** The request's bytes, for an instance reached as `host`. */
  abstract encode(host: string): Uint8Array;
  /** Runs inside the pool's read loop: must not throw. */
  abstract onAnswer(answer: UpstreamAnswer): void;
  /** No instance answered. */
  abstract gaveUp(e: UpstreamError): void;

  failed(e: UpstreamError): void {
    if (!this.upstream!.retry(this, e)) this.gaveUp(e);
  }
}

/**
 * One upstream service behind one or more instances (`PRODUCT_URL=http://a:8002,http://b:8002`).
 * Requests go round-robin over the instances; one that refuses connections is skipped for a
 * while and the request goes to the next at once, since it never reached the refused one.
 */
import { Http1Pool, type PoolOptions, type UpstreamError, type UpstreamResponse } from "./http1-pool.ts";

export interface UpstreamOptions extends PoolOptions {
  /** How long an instance that refused connections is skipped. */
  downMs: number;
}

export class Upstream {
  readonly pools: Http1Pool[];
  private readonly downUntil: number[];
  private next = 0;

  constructor(
    readonly name: string,
    urls: URL[],
    o: UpstreamOptions,
  ) {
    this.pools = urls.map((u) => new Http1Pool(u.hostname.replace(/^\[|\]$/g, ""), Number(u.port || 80), o));
    this.downUntil = urls.map(() => 0);
    this.downMs = o.downMs;
  }

  private readonly downMs: number;

  /**
   * Sends a request built by `encode(hostHeader)`. Goes on to the next instance when one
   * refuses (the request never reached it), and, for an idempotent request, when one closed
   * the connection without a byte of answer (it is shutting down or timed the connection out).
   */
  send(encode: (host: string) => Uint8Array, headOnly: boolean, idempotent: boolean, batchKey: string | null = null): Promise<UpstreamResponse> {
    return new Promise((resolve, reject) => this.attempt(encode, headOnly, idempotent, batchKey, 0, resolve, reject));
  }

  private attempt(
    encode: (host: string) => Uint8Array,
    headOnly: boolean,
    idempotent: boolean,
    batchKey: string | null,
    attempt: number,
    resolve: (r: UpstreamResponse) => void,
    reject: (e: UpstreamError) => void,
  ): void {
    const i = this.pick();
    const pool = this.pools[i]!;
    pool.dispatch(encode(pool.authority), headOnly, batchKey, resolve, (e) => {
      // An instance that refuses, or drops a connection without answering, is going away:
      // skip it for a while.
      if (e.kind === "refused" || e.noResponse) this.downUntil[i] = Date.now() + this.downMs;
      const again = e.kind === "refused" || (e.noResponse && idempotent);
      if (again && attempt < this.pools.length) this.attempt(encode, headOnly, idempotent, batchKey, attempt + 1, resolve, reject);
      else reject(e);
    });
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

/**
 * What comes back from an upstream for a request: its answer, or why there is none.
 */
import { CONNECTION_HEADERS } from "../../lib/connection-headers.ts";
import { forEachHeaderLine } from "../http1/header-lines.ts";

const EMPTY = new Uint8Array(0);

/** An upstream's answer to one request. */
export class UpstreamAnswer {
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


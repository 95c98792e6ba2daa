/**
 * What one generator process saw in one interval: a latency histogram (microseconds, HDR,
 * 3 significant digits) and counts by outcome. Intervals travel to the coordinator encoded,
 * and are merged there, so percentiles over several processes stay exact. Over the whole run
 * it also keeps, per outcome, when the first and the last request with it were sent, which
 * is what tells whether a sold-out deal was granted in the order requests were sent.
 */
import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from "hdr-histogram-js";
import type { Outcome } from "./http-connection.ts";

export interface IntervalReport {
  /** Start of the interval in ms since the scenario started. */
  at: number;
  requests: number;
  errors: number;
  outcomes: Record<string, number>;
  histogram: string;
  /** The same for answers under 400 only (served), and for 503s only (shed by an overloaded gateway). */
  served: string;
  shed: string;
}

export const newHistogram = (): Histogram => build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });

export const decodeHistogram = (encoded: string): Histogram => decodeFromCompressedBase64(encoded);

/** First and last send time (epoch ms) of the requests that had one outcome. */
export type SentSpan = [first: number, last: number];

/** How an outcome is counted: its status, with the error code when the answer named one. */
const outcomeKey = (outcome: Outcome, code?: string): string => (code === undefined ? String(outcome) : `${outcome} ${code}`);

/**
 * A status of 400 or more, a timeout or a lost connection is an error, as k6 counts them,
 * except the answers a scenario expects (an order refused because the deal sold out).
 */
const isError = (outcome: Outcome, key: string, expected: ReadonlySet<string>): boolean => (typeof outcome !== "number" || outcome >= 400) && !expected.has(key);

export class Recorder {
  private histogram = newHistogram();
  private served = newHistogram();
  private shed = newHistogram();
  private outcomes: Record<string, number> = {};
  private requests = 0;
  private errors = 0;
  private readonly sent: Record<string, SentSpan> = {};

  /** `expected`: outcome keys (see outcomeKey) that are not errors. */
  constructor(private readonly expected: ReadonlySet<string> = new Set()) {}

  /** `sentAt`: when the request was written, in epoch ms (comparable across processes). */
  record(latencyMs: number, outcome: Outcome, code?: string, sentAt?: number): void {
    const us = Math.min(120_000_000, Math.max(1, Math.round(latencyMs * 1000)));
    this.histogram.recordValue(us);
    if (typeof outcome === "number" && outcome < 400) this.served.recordValue(us);
    else if (outcome === 503) this.shed.recordValue(us);
    this.requests++;
    const key = outcomeKey(outcome, code);
    if (isError(outcome, key, this.expected)) this.errors++;
    this.outcomes[key] = (this.outcomes[key] ?? 0) + 1;
    if (sentAt !== undefined) {
      const span = this.sent[key];
      if (span === undefined) this.sent[key] = [sentAt, sentAt];
      else if (sentAt < span[0]) span[0] = sentAt;
      else if (sentAt > span[1]) span[1] = sentAt;
    }
  }

  /** Per outcome, the first and last send time over the whole run. */
  sentSpans(): Record<string, SentSpan> {
    return this.sent;
  }

  /** Hands over the interval so far and starts a new one. */
  take(at: number): IntervalReport {
    const report = {
      at,
      requests: this.requests,
      errors: this.errors,
      outcomes: this.outcomes,
      histogram: encodeIntoCompressedBase64(this.histogram),
      served: encodeIntoCompressedBase64(this.served),
      shed: encodeIntoCompressedBase64(this.shed),
    };
    this.histogram.reset();
    this.served.reset();
    this.shed.reset();
    this.outcomes = {};
    this.requests = 0;
    this.errors = 0;
    return report;
  }
}

/**
 * What one generator process saw in one interval: a latency histogram (microseconds, HDR,
 * 3 significant digits) and counts by outcome. Intervals travel to the coordinator encoded,
 * and are merged there, so percentiles over several processes stay exact.
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

/** A status of 400 or more, a timeout or a lost connection is an error, as k6 counts them. */
const isError = (outcome: Outcome): boolean => typeof outcome !== "number" || outcome >= 400;

export class Recorder {
  private histogram = newHistogram();
  private served = newHistogram();
  private shed = newHistogram();
  private outcomes: Record<string, number> = {};
  private requests = 0;
  private errors = 0;

  record(latencyMs: number, outcome: Outcome): void {
    const us = Math.min(120_000_000, Math.max(1, Math.round(latencyMs * 1000)));
    this.histogram.recordValue(us);
    if (typeof outcome === "number" && outcome < 400) this.served.recordValue(us);
    else if (outcome === 503) this.shed.recordValue(us);
    this.requests++;
    if (isError(outcome)) this.errors++;
    const key = String(outcome);
    this.outcomes[key] = (this.outcomes[key] ?? 0) + 1;
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

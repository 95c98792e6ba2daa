/**
 * Placing orders: a validated request is refused from memory when its deal is known to be
 * sold out, joins the request already in flight with its Idempotency-Key, or goes into the
 * instance's group commit queue. Each batch is one transaction (OrderStore); if it
 * fails, nothing of it was written and every request in it is answered 503.
 */
import { ApiError } from "../lib/errors.ts";
import { isDatabaseUnavailable } from "../lib/database-unavailable.ts";
import { describeError, type Logger } from "../lib/log.ts";
import { GroupCommit } from "./group-commit.ts";
import { InFlightKeys, keyReused } from "./idempotency.ts";
import { answerOf, type Answer, type PlacementRequest } from "./model.ts";
import type { OrderMetrics } from "./order-metrics.ts";
import type { OrderStore } from "./order-store.ts";
import { SoldOutDeals } from "./sold-out.ts";

export interface PlacingOptions {
  /** false: one transaction per order, run as they come (the comparison for the bench). */
  batching: boolean;
  maxBatch: number;
  soldOutTtlMs: number;
}

interface Pending {
  request: PlacementRequest;
  resolve: (a: Answer) => void;
}

export class Placing {
  readonly soldOut: SoldOutDeals;
  private readonly inFlight = new InFlightKeys();
  private readonly queue: GroupCommit<Pending> | null;

  constructor(
    private readonly store: OrderStore,
    private readonly metrics: OrderMetrics,
    private readonly log: Logger,
    o: PlacingOptions,
  ) {
    this.soldOut = new SoldOutDeals(o.soldOutTtlMs);
    this.queue = o.batching ? new GroupCommit((batch) => this.runBatch(batch), o.maxBatch) : null;
  }

  async place(request: PlacementRequest): Promise<Answer> {
    const key = request.idempotency;
    if (key !== null) {
      const first = this.inFlight.get(request.userId, key.key);
      if (first) {
        if (first.fingerprint !== key.fingerprint) return this.count(keyReused());
        return first.answer;
      }
    } else {
      const refused = this.refusedFromMemory(request);
      if (refused) return this.count(refused);
    }
    const answer = new Promise<Answer>((resolve) => {
      const pending = { request, resolve };
      if (this.queue) this.queue.add(pending);
      else void this.runBatch([pending]);
    });
    if (key !== null) this.inFlight.hold(request.userId, key.key, key.fingerprint, answer);
    return answer;
  }

  /** Units came back to these deals through this instance: sell them again at once. */
  givenBack(dealIds: Iterable<string>): void {
    for (const id of dealIds) this.soldOut.clear(id);
  }

  /**
   * The sold-out refusal of a keyless request whose deal is marked, or null. A keyed request
   * may be a retry of one that succeeded: only the database knows.
   */
  private refusedFromMemory(request: PlacementRequest): Answer | null {
    if (request.idempotency !== null) return null;
    for (const i of request.items) {
      const refusal = i.deal_id === null ? null : this.soldOut.refusal(i.deal_id, i.product_id);
      if (refusal !== null) return refusal;
    }
    return null;
  }

  private async runBatch(queued: Pending[]): Promise<void> {
    // What queued while the batch before sold its deal out is refused as an arrival now would be.
    const batch = queued.filter((p) => {
      const refused = this.refusedFromMemory(p.request);
      if (refused) p.resolve(this.count(refused));
      return refused === null;
    });
    if (batch.length === 0) return;
    const started = performance.now();
    try {
      const outcome = await this.store.placeBatch(batch.map((p) => p.request));
      this.metrics.batch(batch.length, (performance.now() - started) / 1000);
      for (const { dealId, productId } of outcome.soldOut) this.soldOut.mark(dealId, productId);
      batch.forEach((p, i) => p.resolve(this.count(outcome.answers[i]!)));
    } catch (e) {
      const fields = { orders: batch.length, ...describeError(e) };
      if (isDatabaseUnavailable(e)) this.log.warn("order batch failed: database unavailable", fields);
      else this.log.error("order batch failed", fields);
      const answer = answerOf(new ApiError("UNAVAILABLE", "The order could not be placed; nothing was written, try again shortly"));
      for (const p of batch) p.resolve(this.count(answer));
    }
  }

  private count(a: Answer): Answer {
    this.metrics.answered(a);
    return a;
  }
}

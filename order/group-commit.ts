import { Fifo } from "../lib/fifo.ts";

/**
 * Group commit: every placement request of this instance waits in one queue, in arrival
 * order. With nothing in flight the first request runs at once (no artificial wait); those
 * that arrive while a batch is in flight gather, and run together as the next batch, at most
 * `maxBatch` at a time. One batch in flight per instance, whatever rows its requests touch:
 * on a machine whose cores are already busy answering, concurrent transactions only compete
 * for them, and one batch over every deal is fewer, larger transactions than a batch per deal.
 */
export class GroupCommit<T> {
  private readonly waiting = new Fifo<T>();
  private running = false;

  constructor(
    /** Runs one batch; must not reject (it answers every request itself). */
    private readonly run: (batch: T[]) => Promise<void>,
    private readonly maxBatch: number,
  ) {}

  add(request: T): void {
    if (this.running) {
      this.waiting.push(request);
      return;
    }
    this.running = true;
    void this.drain([request]);
  }

  private async drain(first: T[]): Promise<void> {
    let batch = first;
    for (;;) {
      await this.run(batch);
      if (this.waiting.length === 0) {
        this.running = false;
        return;
      }
      batch = this.waiting.take(this.maxBatch);
    }
  }
}

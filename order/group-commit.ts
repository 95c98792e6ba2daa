/**
 * Group commit: every placement request of this instance waits in one queue, in arrival
 * order. With nothing in flight the first request runs at once (no artificial wait); those
 * that arrive while a batch is in flight gather, and run together as the next batch, at most
 * `maxBatch` at a time. One batch in flight per instance, whatever rows its requests touch:
 * on a machine whose cores are already busy answering, concurrent transactions only compete
 * for them, and one batch over every deal is fewer, larger transactions than a batch per deal.
 */
export class GroupCommit<T> {
  private waiting: T[] = [];
  private head = 0;
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
      const left = this.waiting.length - this.head;
      if (left === 0) {
        this.waiting = [];
        this.head = 0;
        this.running = false;
        return;
      }
      const take = Math.min(left, this.maxBatch);
      batch = this.waiting.slice(this.head, this.head + take);
      this.head += take;
      // Reclaim the consumed prefix once it dominates, so a long spike does not grow the array.
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting = this.waiting.slice(this.head);
        this.head = 0;
      }
    }
  }
}

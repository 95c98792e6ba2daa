/**
 * Group commit: requests that touch the same rows wait in one lane, in arrival order. A lane
 * with nothing in flight runs its first request at once (no artificial wait); requests that
 * arrive while a batch is in flight gather, and run together as the next batch, at most
 * `maxBatch` at a time. Lanes are keyed by the rows a request touches, so requests for
 * different deals never wait for each other here (the database's row locks order the rest).
 */
export class GroupCommit<T> {
  private readonly lanes = new Map<string, { waiting: T[]; head: number }>();

  constructor(
    /** Runs one batch; must not reject (it answers every request itself). */
    private readonly run: (batch: T[]) => Promise<void>,
    private readonly maxBatch: number,
  ) {}

  add(key: string, request: T): void {
    const lane = this.lanes.get(key);
    if (lane) {
      lane.waiting.push(request);
      return;
    }
    this.lanes.set(key, { waiting: [], head: 0 });
    void this.drain(key, [request]);
  }

  private async drain(key: string, first: T[]): Promise<void> {
    const lane = this.lanes.get(key)!;
    let batch = first;
    for (;;) {
      await this.run(batch);
      const left = lane.waiting.length - lane.head;
      if (left === 0) {
        this.lanes.delete(key);
        return;
      }
      const take = Math.min(left, this.maxBatch);
      batch = lane.waiting.slice(lane.head, lane.head + take);
      lane.head += take;
      // Reclaim the consumed prefix once it dominates, so a long spike does not grow the array.
      if (lane.head > 1024 && lane.head * 2 > lane.waiting.length) {
        lane.waiting = lane.waiting.slice(lane.head);
        lane.head = 0;
      }
    }
  }
}

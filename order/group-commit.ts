/**
 * Group commit: requests that touch the same rows wait in one lane, in arrival order. A lane
 * with nothing in flight runs its first request at once (no artificial wait); requests that
 * arrive while a batch is in flight gather, and run together as the next batch, at most
 * `maxBatch` at a time. Lanes are keyed by the rows a request touches, so requests for
 * different deals never wait for each other here (the database's row locks order the rest).
 *
 * Overlap: once a batch reports that it holds its rows' locks (`locked`), the next batch of the
 * lane may start, so its BEGIN and lock requests are already queued on those row locks in the
 * database while the first one writes and commits; it gets the rows the moment the first
 * commits, without a round trip from here. At most two batches of a lane are in flight: one
 * holding the rows, one waiting for them. Since the next batch starts only after the one before
 * it holds the locks, the batches take the rows in lane order, which keeps arrival order.
 */
interface Lane<T> {
  waiting: T[];
  head: number;
  /** Batches started and not finished. */
  running: number;
  /** A batch started and not yet holding its rows: the next one must wait for it. */
  unlocked: boolean;
}

export class GroupCommit<T> {
  private readonly lanes = new Map<string, Lane<T>>();

  constructor(
    /**
     * Runs one batch; must not reject (it answers every request itself). Calls `locked` once the
     * batch holds the locks of its rows, if it gets that far.
     */
    private readonly run: (batch: T[], locked: () => void) => Promise<void>,
    private readonly maxBatch: number,
  ) {}

  add(key: string, request: T): void {
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = { waiting: [], head: 0, running: 0, unlocked: false }));
    lane.waiting.push(request);
    this.pump(key, lane);
  }

  private pump(key: string, lane: Lane<T>): void {
    const left = lane.waiting.length - lane.head;
    if (left === 0) {
      if (lane.running === 0) this.lanes.delete(key);
      else {
        lane.waiting = [];
        lane.head = 0;
      }
      return;
    }
    if (lane.unlocked || lane.running >= 2) return;
    const take = Math.min(left, this.maxBatch);
    const batch = lane.waiting.slice(lane.head, lane.head + take);
    lane.head += take;
    // Reclaim the consumed prefix once it dominates, so a long spike does not grow the array.
    if (lane.head > 1024 && lane.head * 2 > lane.waiting.length) {
      lane.waiting = lane.waiting.slice(lane.head);
      lane.head = 0;
    }
    lane.running++;
    lane.unlocked = true;
    let holds = false;
    const locked = () => {
      if (holds) return;
      holds = true;
      lane.unlocked = false;
      this.pump(key, lane);
    };
    void this.run(batch, locked).then(() => {
      lane.running--;
      // A batch that failed before it got the rows lets the next one go now.
      if (!holds) {
        holds = true;
        lane.unlocked = false;
      }
      this.pump(key, lane);
    });
  }
}

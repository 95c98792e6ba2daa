/**
 * At most `concurrency` tasks at once, at most `queue` more waiting, first come first served;
 * past that a task is refused at once (Overloaded), so a burst costs its excess a quick
 * refusal instead of costing everyone a wait without bound.
 */
export class Overloaded extends Error {
  constructor() {
    super("too many tasks waiting");
  }
}

export class ConcurrencyLimit {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly concurrency: number,
    readonly queue: number,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running < this.concurrency) this.running++;
    else if (this.waiting.length < this.queue) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else throw new Overloaded();
    try {
      return await task();
    } finally {
      // The slot passes straight to the next in line, so no newcomer can jump the queue.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  /** Whether a task given now would be refused: for refusing before doing any other work for it. */
  get full(): boolean {
    return this.running >= this.concurrency && this.waiting.length >= this.queue;
  }

  /** Tasks running and waiting now. */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }
}

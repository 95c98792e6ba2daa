/**
 * The closed model k6 and the original load test use: virtual users, each with its own
 * kept-alive connection, send a request, wait for the response, think, and repeat. The number
 * of users follows the profile; a user above the current count finishes its request and leaves.
 */
import type { HttpConnection, Outcome } from "./http-connection.ts";
import { connect, watchDeadlines, type LoadTarget } from "./load-target.ts";
import { profileDuration, shareOf, valueAt, type Profile } from "./profile.ts";

export interface ClosedModel {
  /** Virtual users over time, in total over all generator processes. */
  users: Profile;
  thinkMs: number;
  share: { index: number; count: number };
}

const RECONNECT_BACKOFF_MS = 50;

class VirtualUser {
  private conn: HttpConnection | null = null;
  leaving = false;
  done: Promise<void>;
  private finish!: () => void;

  /** `slot`: this process's number for the user, so that it keeps its own token throughout. */
  constructor(
    private readonly target: LoadTarget,
    private readonly thinkMs: number,
    private readonly ended: () => boolean,
    private readonly slot: number,
  ) {
    this.done = new Promise((resolve) => (this.finish = resolve));
    void this.next();
  }

  get connection(): HttpConnection | null {
    return this.conn;
  }

  private async next(): Promise<void> {
    if (this.leaving || this.ended()) {
      this.conn?.close();
      this.finish();
      return;
    }
    const intended = performance.now();
    if (!this.conn || this.conn.closed) {
      try {
        this.conn = await connect(this.target);
      } catch {
        this.conn = null;
        this.completed(intended, "connection");
        return;
      }
    }
    const sentAt = performance.timeOrigin + performance.now();
    this.conn.send(this.target.mix.pick(this.slot), (outcome, code) => this.completed(intended, outcome, code, sentAt));
  }

  private completed(intended: number, outcome: Outcome, code?: string, sentAt?: number): void {
    this.target.recorder.record(performance.now() - intended, outcome, code, sentAt);
    const pause = typeof outcome === "number" ? this.thinkMs : Math.max(this.thinkMs, RECONNECT_BACKOFF_MS);
    if (pause > 0) setTimeout(() => void this.next(), pause);
    else void this.next();
  }
}

export async function runClosedModel(target: LoadTarget, model: ClosedModel, startedAt: number): Promise<void> {
  const durationMs = profileDuration(model.users);
  const ended = () => performance.now() - startedAt >= durationMs;
  const active: VirtualUser[] = [];
  const everyone = new Set<VirtualUser>();
  const stopDeadlines = watchDeadlines(target, function* () {
    for (const u of everyone) if (u.connection) yield u.connection;
  });
  let slots = 0;
  const adjust = () => {
    const total = Math.round(valueAt(model.users, performance.now() - startedAt));
    const want = shareOf(total, model.share.index, model.share.count);
    while (active.length < want) {
      const user = new VirtualUser(target, model.thinkMs, ended, slots++);
      active.push(user);
      everyone.add(user);
      void user.done.then(() => everyone.delete(user));
    }
    while (active.length > want) active.pop()!.leaving = true;
  };
  adjust();
  const timer = setInterval(adjust, 10);
  await Bun.sleep(Math.max(0, durationMs - (performance.now() - startedAt)));
  clearInterval(timer);
  await Promise.all([...everyone].map((u) => u.done));
  stopDeadlines();
}

/**
 * The open model: requests arrive on a schedule that does not care how the server is doing,
 * as users do when a deal opens. Each request's latency runs from the moment it was due, not
 * from when a connection was free to send it, so a stalled server shows up in the figures
 * instead of quietly slowing the generator down (no coordinated omission).
 */
import { Fifo } from "../../lib/fifo.ts";
import type { HttpConnection } from "./http-connection.ts";
import { connect, watchDeadlines, type LoadTarget } from "./load-target.ts";
import { profileDuration, valueAt, type Profile } from "./profile.ts";

export interface OpenModel {
  /** Requests per second over time, in total over all generator processes. */
  rate: Profile;
  share: { index: number; count: number };
  /** Connections this process may hold open; past that, due requests wait for one. */
  maxConnections: number;
  /** A request sent this long after it was due counts as late. */
  lateMs: number;
  /** After the schedule ends, requests still waiting for a connection this long are dropped. */
  drainMs: number;
}

export interface OpenModelResult {
  scheduled: number;
  late: number;
  dropped: number;
  connections: number;
}

/** This process's due times (ms since the start), in order: its share of the rate, evenly spaced. */
class Schedule {
  private readonly durationMs: number;
  next: number;

  constructor(private readonly model: Pick<OpenModel, "rate" | "share">) {
    this.durationMs = profileDuration(model.rate);
    // Offsets the processes' schedules so that together they arrive evenly.
    this.next = (model.share.index * 1000) / model.share.count / this.rateAt(0);
  }

  private rateAt(atMs: number): number {
    return Math.max(1e-3, valueAt(this.model.rate, atMs) / this.model.share.count);
  }

  /** The next due time at or before `now`, or -1. */
  take(now: number): number {
    if (this.next > now || this.next >= this.durationMs) return -1;
    const due = this.next;
    this.next += 1000 / this.rateAt(due);
    return due;
  }
}

/** How many requests this process will send over the whole run (what its users are made for). */
export function scheduledCount(model: Pick<OpenModel, "rate" | "share">): number {
  const schedule = new Schedule(model);
  let n = 0;
  while (schedule.take(Infinity) >= 0) n++;
  return n;
}

export async function runOpenModel(target: LoadTarget, model: OpenModel, startedAt: number): Promise<OpenModelResult> {
  const durationMs = profileDuration(model.rate);
  const all = new Set<HttpConnection>();
  const idle: HttpConnection[] = [];
  let opening = 0;
  // due times (ms since start) of requests waiting for a connection, oldest first
  const waiting = new Fifo<number>();
  const result: OpenModelResult = { scheduled: 0, late: 0, dropped: 0, connections: 0 };

  const schedule = new Schedule(model);

  const send = (conn: HttpConnection, due: number) => {
    const sendAt = performance.now() - startedAt;
    if (sendAt - due > model.lateMs) result.late++;
    const sentAt = performance.timeOrigin + startedAt + sendAt;
    conn.send(target.mix.pick(-1), (outcome, code) => {
      target.recorder.record(performance.now() - startedAt - due, outcome, code, sentAt);
      if (conn.closed) all.delete(conn);
      else idle.push(conn);
      dispatch();
    });
  };

  const dispatch = () => {
    while (waiting.length > 0) {
      let conn = idle.pop();
      while (conn && conn.closed) {
        all.delete(conn);
        conn = idle.pop();
      }
      if (!conn) {
        while (all.size + opening < model.maxConnections && opening < waiting.length) open();
        break;
      }
      send(conn, waiting.shift()!);
    }
  };

  const open = () => {
    opening++;
    const attemptAt = performance.now() - startedAt;
    connect(target).then(
      (conn) => {
        opening--;
        all.add(conn);
        result.connections++;
        idle.push(conn);
        dispatch();
      },
      () => {
        opening--;
        // The oldest waiting request fails the way a client's would: it could not connect.
        const due = waiting.shift();
        if (due !== undefined) target.recorder.record(performance.now() - startedAt - due, "connection");
        setTimeout(dispatch, Math.max(0, 50 - (performance.now() - startedAt - attemptAt)));
      },
    );
  };

  const tick = () => {
    const now = performance.now() - startedAt;
    for (let due = schedule.take(now); due >= 0; due = schedule.take(now)) {
      waiting.push(due);
      result.scheduled++;
    }
    dispatch();
  };
  const stopDeadlines = watchDeadlines(target, () => all);
  const ticker = setInterval(tick, 1);
  await Bun.sleep(Math.max(0, durationMs - (performance.now() - startedAt)));
  clearInterval(ticker);
  tick();
  const drainUntil = performance.now() + model.drainMs;
  while (waiting.length > 0 && performance.now() < drainUntil) await Bun.sleep(10);
  result.dropped = waiting.length;
  waiting.clear();
  while ([...all].some((c) => c.busy) && performance.now() < drainUntil + target.timeoutMs) await Bun.sleep(10);
  stopDeadlines();
  for (const c of all) c.close();
  return result;
}

/**
 * What a person watching the bench sees: on a terminal, one line per scenario redrawn each
 * second with a bar; anywhere else (a pipe, a log, CI) a plain line when a scenario starts,
 * one every few seconds while it runs, and one when it ends, so a log shows that the run is
 * alive and how it goes without waiting for the end.
 */
import type { Interval } from "./loadgen/coordinator.ts";

const WIDTH = 24;
/** How often a plain line is printed when not on a terminal. */
export const PLAIN_LINE_EVERY_MS = 3000;

export class Progress {
  private name = "";
  private durationMs = 1;
  private lastLogged = 0;

  constructor(
    private readonly enabled: boolean,
    private readonly tty = Boolean(process.stderr.isTTY),
    private readonly write: (text: string) => void = (text) => void process.stderr.write(text),
  ) {}

  note(text: string): void {
    if (!this.enabled) return;
    this.write(`${text}\n`);
  }

  begin(name: string, durationMs: number): void {
    this.name = name;
    this.durationMs = durationMs;
    this.lastLogged = 0;
    if (!this.enabled) return;
    if (this.tty) this.draw({ at: -1000, requests: 0, errors: 0, created: 0, p50_ms: 0, p99_ms: 0, max_ms: 0 });
    else this.write(`${name.padEnd(12)} started: ${Math.round(durationMs / 1000)} s\n`);
  }

  interval(i: Interval): void {
    this.draw(i);
  }

  end(summary: string): void {
    if (!this.enabled) return;
    this.write(`${this.tty ? "\r\x1b[2K" : ""}${this.name.padEnd(12)} done: ${summary}\n`);
  }

  private draw(i: Interval): void {
    if (!this.enabled) return;
    const elapsed = Math.min(this.durationMs, i.at + 1000);
    const seconds = `${Math.max(0, Math.round(elapsed / 1000))}/${Math.round(this.durationMs / 1000)} s`;
    const figures = `${i.requests.toLocaleString("en-US")} req/s  p99 ${i.p99_ms} ms  errors ${i.errors}`;
    if (this.tty) {
      const filled = Math.round((WIDTH * Math.max(0, elapsed)) / this.durationMs);
      this.write(`\r\x1b[2K${this.name.padEnd(12)} [${"#".repeat(filled)}${"-".repeat(WIDTH - filled)}] ${seconds}  ${figures}`);
    } else if (elapsed - this.lastLogged >= PLAIN_LINE_EVERY_MS) {
      this.lastLogged = elapsed;
      this.write(`${this.name.padEnd(12)} ${seconds}  ${figures}\n`);
    }
  }
}

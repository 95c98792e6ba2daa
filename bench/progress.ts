/**
 * What a person watching the bench sees: on a terminal, one line per scenario redrawn each
 * second with a bar; in a log (CI), a line every ten seconds and one when a scenario ends.
 */
import type { Interval } from "./loadgen/coordinator.ts";

const WIDTH = 24;

export class Progress {
  private name = "";
  private durationMs = 1;
  private lastLogged = 0;

  constructor(
    private readonly enabled: boolean,
    private readonly tty = Boolean(process.stderr.isTTY),
  ) {}

  note(text: string): void {
    if (!this.enabled) return;
    process.stderr.write(`${text}\n`);
  }

  begin(name: string, durationMs: number): void {
    this.name = name;
    this.durationMs = durationMs;
    this.lastLogged = 0;
    this.draw({ at: -1000, requests: 0, errors: 0, created: 0, p50_ms: 0, p99_ms: 0, max_ms: 0 });
  }

  interval(i: Interval): void {
    this.draw(i);
  }

  end(summary: string): void {
    if (!this.enabled) return;
    process.stderr.write(`${this.tty ? "\r\x1b[2K" : ""}${this.name.padEnd(12)} done: ${summary}\n`);
  }

  private draw(i: Interval): void {
    if (!this.enabled) return;
    const elapsed = Math.min(this.durationMs, i.at + 1000);
    const filled = Math.round((WIDTH * Math.max(0, elapsed)) / this.durationMs);
    const line = `${this.name.padEnd(12)} [${"#".repeat(filled)}${"-".repeat(WIDTH - filled)}] ${Math.max(0, Math.round(elapsed / 1000))}/${Math.round(this.durationMs / 1000)} s  ${i.requests.toLocaleString("en-US")} req/s  p99 ${i.p99_ms} ms  errors ${i.errors}`;
    if (this.tty) process.stderr.write(`\r\x1b[2K${line}`);
    else if (elapsed - this.lastLogged >= 10_000) {
      this.lastLogged = elapsed;
      process.stderr.write(`${line}\n`);
    }
  }
}

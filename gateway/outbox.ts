/** Bytes for a socket, held while it cannot take them, written in order when it drains. */
import type { Socket } from "bun";

export class Outbox {
  private unsent: Uint8Array | null = null;

  /** `limit`: more than this many bytes waiting calls `onOverflow` (a peer that reads nothing). */
  constructor(
    private readonly limit = Number.POSITIVE_INFINITY,
    private readonly onOverflow: () => void = () => {},
  ) {}

  get empty(): boolean {
    return this.unsent === null;
  }

  write(socket: Socket<unknown>, data: Uint8Array): void {
    if (this.unsent !== null) {
      this.unsent = Buffer.concat([this.unsent, data]);
      if (this.unsent.length > this.limit) this.onOverflow();
      return;
    }
    const written = socket.write(data);
    if (written < data.length) this.unsent = data.subarray(Math.max(0, written));
  }

  /** Writes what waits; true when nothing is left. */
  drain(socket: Socket<unknown>): boolean {
    if (this.unsent === null) return true;
    const unsent = this.unsent;
    const written = socket.write(unsent);
    this.unsent = written >= unsent.length ? null : unsent.subarray(Math.max(0, written));
    return this.unsent === null;
  }
}

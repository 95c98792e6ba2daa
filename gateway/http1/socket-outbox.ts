/** Bytes for a socket, held while it cannot take them, written in order when it drains. */
import type { Socket } from "bun";

/** Bytes held by many outboxes together: the edge's global cap is on this. */
export interface Budget {
  bytes: number;
}

export class SocketOutbox {
  private chunks: Uint8Array[] = [];
  /** Bytes waiting. */
  size = 0;

  constructor(private readonly budget: Budget | null = null) {}

  get empty(): boolean {
    return this.size === 0;
  }

  write(socket: Socket<unknown>, data: Uint8Array): void {
    if (this.size > 0) return this.hold(data);
    const written = socket.write(data);
    if (written < data.length) this.hold(written <= 0 ? data : data.subarray(written));
  }

  private hold(data: Uint8Array): void {
    this.chunks.push(data);
    this.size += data.length;
    if (this.budget !== null) this.budget.bytes += data.length;
  }

  /** Writes what waits (in one write); true when nothing is left. */
  drain(socket: Socket<unknown>): boolean {
    if (this.size === 0) return true;
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const written = Math.max(0, socket.write(all));
    this.chunks = written >= all.length ? [] : [all.subarray(written)];
    this.size -= Math.min(written, this.size);
    if (this.budget !== null) this.budget.bytes -= Math.min(written, all.length);
    return this.size === 0;
  }

  /** The socket is gone: what waited is dropped (and given back to the budget). */
  clear(): void {
    if (this.budget !== null) this.budget.bytes -= this.size;
    this.chunks = [];
    this.size = 0;
  }
}

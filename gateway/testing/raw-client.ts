/**
 * A client on a raw socket, for the edge's tests: writes whatever it is given, reads answers
 * as they come, and can stop reading altogether (a client that never drains).
 */
import type { Socket } from "bun";

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The head as sent. */
  head: string;
}

export class RawClient {
  private buffer = Buffer.alloc(0);
  closed = false;
  /** Bytes received in all. */
  received = 0;
  private waiters: (() => void)[] = [];
  socket!: Socket<undefined>;

  static async open(port: number, hostname = "127.0.0.1"): Promise<RawClient> {
    const client = new RawClient();
    client.socket = await Bun.connect({
      hostname,
      port,
      socket: {
        data: (_s, chunk) => {
          client.received += chunk.length;
          client.buffer = Buffer.concat([client.buffer, chunk]);
          client.wake();
        },
        close: () => {
          client.closed = true;
          client.wake();
        },
        error: () => {
          client.closed = true;
          client.wake();
        },
      },
    });
    return client;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  write(data: string | Uint8Array): number {
    return this.socket.write(data);
  }

  /** The next `count` answers; `headOnly[i]` when the i-th answers a HEAD. Fails after `ms`. */
  async read(count: number, headOnly: boolean[] = [], ms = 3000): Promise<RawAnswer[]> {
    const deadline = Date.now() + ms;
    const answers: RawAnswer[] = [];
    while (answers.length < count) {
      const answer = this.take(headOnly[answers.length] ?? false);
      if (answer !== null) {
        answers.push(answer);
        continue;
      }
      if (this.closed) throw new Error(`connection closed after ${answers.length} answers; left: ${this.buffer.toString("latin1").slice(0, 200)}`);
      if (Date.now() > deadline) throw new Error(`no answer in time; have ${answers.length}`);
      await this.until(100);
    }
    return answers;
  }

  /** Every answer until the connection closes, `ms` pass or `most` have come. */
  async readAll(ms = 3000, headOnly: boolean[] = [], most = Number.POSITIVE_INFINITY): Promise<RawAnswer[]> {
    const deadline = Date.now() + ms;
    const answers: RawAnswer[] = [];
    while (answers.length < most) {
      const answer = this.take(headOnly[answers.length] ?? false);
      if (answer !== null) {
        answers.push(answer);
        continue;
      }
      if (this.closed || Date.now() > deadline) return answers;
      await this.until(50);
    }
    return answers;
  }

  private until(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.waiters.push(resolve);
      setTimeout(resolve, ms);
    });
  }

  /** Bytes received and not yet taken as answers. */
  get leftover(): string {
    return this.buffer.toString("latin1");
  }

  private take(headOnly: boolean): RawAnswer | null {
    const end = this.buffer.indexOf("\r\n\r\n");
    if (end === -1) return null;
    const head = this.buffer.toString("latin1", 0, end);
    const [statusLine, ...lines] = head.split("\r\n");
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const status = Number(statusLine!.split(" ")[1]);
    const length = headOnly || status === 204 || status === 304 || status < 200 ? 0 : Number(headers["content-length"] ?? 0);
    if (this.buffer.length < end + 4 + length) return null;
    const body = this.buffer.toString("utf8", end + 4, end + 4 + length);
    this.buffer = this.buffer.subarray(end + 4 + length);
    return { status, headers, body, head };
  }

  /** Resolves when the peer has closed the connection; fails after `ms`. */
  async waitClosed(ms = 3000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("connection still open");
      await Bun.sleep(20);
    }
  }

  close(): void {
    this.socket.end();
  }
}

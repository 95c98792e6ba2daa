/**
 * Finds where each HTTP/1.1 response ends in a byte stream, without building strings for
 * the body: the generator only needs the status and the moment the last byte arrived.
 * Handles Content-Length, chunked bodies and bodiless statuses, across any split of the
 * stream into chunks. The one thing read from a body is the contract's error code of a
 * small 4xx/5xx answer, so that refusals can be counted by reason.
 */

const LF = 10;
const MAX_HEAD = 64 * 1024;
// Error bodies are a few hundred bytes; a larger one is not read for its code.
const MAX_CAPTURED = 4096;
// The contract's error body: {"error": "CODE", "message": ..., "details": ...}
const CODE = /"error"\s*:\s*"([A-Za-z0-9_]{1,64})"/;

export class ResponseParser {
  private head: Buffer | null = null; // an incomplete head carried over from the last chunk
  private bodyLeft = 0; // bytes of body (or of the current chunk, with its CRLF) still to come
  private chunked = false;
  private inBody = false;
  private chunkLine = ""; // an incomplete chunk-size line
  private status = 0;
  private closing = false;
  private captured: string | null = null; // the body so far, of an error answer whose code is read

  /**
   * `close` is true when the server said it closes the connection after this response; `code`
   * is the error code of a 4xx/5xx answer with a Content-Length body that names one.
   */
  constructor(private readonly onResponse: (status: number, close: boolean, code: string | undefined) => void) {}

  /** True while a response has started but not finished. */
  get busy(): boolean {
    return this.inBody || this.head !== null;
  }

  reset(): void {
    this.head = null;
    this.bodyLeft = 0;
    this.chunked = false;
    this.inBody = false;
    this.chunkLine = "";
    this.captured = null;
  }

  /** Feeds bytes; calls onResponse once per complete response. Throws on a malformed stream. */
  push(data: Buffer): void {
    let at = 0;
    while (at < data.length) {
      if (!this.inBody) {
        at = this.readHead(data, at);
        if (at < 0) return;
      } else if (this.chunked) {
        at = this.readChunked(data, at);
      } else {
        const take = Math.min(this.bodyLeft, data.length - at);
        if (this.captured !== null) this.captured += data.toString("utf8", at, at + take);
        this.bodyLeft -= take;
        at += take;
        if (this.bodyLeft === 0) this.finish();
      }
    }
  }

  /** Returns where the body starts, or -1 when the head is not complete yet. */
  private readHead(data: Buffer, at: number): number {
    const carried = this.head?.length ?? 0;
    const buf = this.head ? Buffer.concat([this.head, data.subarray(at)]) : data;
    const from = this.head ? 0 : at;
    const end = buf.indexOf("\r\n\r\n", from, "latin1");
    if (end < 0) {
      if (buf.length - from > MAX_HEAD) throw new Error("response head too large");
      this.head = Buffer.from(buf.subarray(from));
      return -1;
    }
    // where the body starts in `data`
    const bodyAt = carried ? at + end + 4 - carried : end + 4;
    const headText = buf.toString("latin1", from, end);
    this.head = null;
    this.status = parseStatus(headText);
    const lower = headText.toLowerCase();
    this.chunked = /\r\ntransfer-encoding:[^\r]*chunked/.test(lower);
    this.closing = /\r\nconnection:[^\r]*close/.test(lower);
    const length = /\r\ncontent-length:\s*(\d+)/.exec(lower);
    this.bodyLeft = this.chunked ? 0 : length ? Number(length[1]) : 0;
    const bodiless = this.status === 204 || this.status === 304 || (this.status >= 100 && this.status < 200);
    if (bodiless) {
      this.chunked = false;
      this.bodyLeft = 0;
    }
    this.inBody = true;
    this.captured = this.status >= 400 && !this.chunked && this.bodyLeft > 0 && this.bodyLeft <= MAX_CAPTURED ? "" : null;
    if (!this.chunked && this.bodyLeft === 0) this.finish();
    return bodyAt;
  }

  /** Chunked body: size line, data + CRLF, ..., a zero-size chunk, optional trailers, CRLF. */
  private readChunked(data: Buffer, at: number): number {
    if (this.bodyLeft > 0) {
      const take = Math.min(this.bodyLeft, data.length - at);
      this.bodyLeft -= take;
      return at + take;
    }
    const nl = data.indexOf(LF, at);
    if (nl < 0) {
      this.chunkLine += data.toString("latin1", at);
      if (this.chunkLine.length > 1024) throw new Error("chunk size line too long");
      return data.length;
    }
    const line = (this.chunkLine + data.toString("latin1", at, nl)).replace(/\r$/, "");
    this.chunkLine = "";
    if (this.bodyLeft === -1) {
      // after the last chunk: trailer lines until an empty one
      if (line === "") this.finish();
      return nl + 1;
    }
    const size = parseInt(line, 16);
    if (!Number.isFinite(size) || size < 0) throw new Error(`bad chunk size ${JSON.stringify(line)}`);
    this.bodyLeft = size === 0 ? -1 : size + 2;
    return nl + 1;
  }

  private finish(): void {
    const { status, closing, captured } = this;
    const code = captured === null ? undefined : CODE.exec(captured)?.[1];
    this.reset();
    this.onResponse(status, closing, code);
  }
}

function parseStatus(head: string): number {
  // "HTTP/1.1 200 OK"
  if (!head.startsWith("HTTP/1.")) throw new Error("not an HTTP/1.x response");
  const status = Number(head.slice(9, 12));
  if (!Number.isInteger(status) || status < 100) throw new Error("bad status line");
  return status;
}

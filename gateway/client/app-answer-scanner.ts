/**
 * Where the app's answer to a tunnelled request ends, read as it streams past: the edge
 * passes the bytes on as they come and takes the connection's next request only after the
 * end. Interim answers (100 Continue) are passed on and the final one is waited for.
 */
import { ChunkedScanner } from "./chunked-scanner.ts";
import { forEachHeaderLine, isNamed } from "../http1/header-lines.ts";

const CRLFCRLF = Buffer.from("\r\n\r\n");
const MALFORMED = -2;
const MORE = -1;

export class AppAnswerScanner {
  private head: Buffer | null = null;
  /** -1: reading a head; -2: chunked; -3: until close; else body bytes left. */
  private left = -1;
  private chunked: ChunkedScanner | null = null;
  /** The app closes the connection after this answer. */
  close = false;
  status = 0;

  constructor(private readonly headOnly: boolean) {}

  /** The index just after the final answer's end in `buf`, -1 when more is needed, -2 when it is not HTTP. */
  scan(chunk: Uint8Array, from: number): number {
    let buf = chunk;
    let at = from;
    while (at < buf.length) {
      if (this.left === -1) {
        if (this.head !== null) {
          buf = Buffer.concat([this.head, buf.subarray(at)]);
          at = 0;
          this.head = null;
        }
        const end = (buf as Buffer).indexOf(CRLFCRLF, at);
        if (end === -1) {
          this.head = Buffer.from(buf.subarray(at));
          return this.head.length > 64 * 1024 ? MALFORMED : MORE;
        }
        const text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString("latin1", at, end);
        at = end + 4;
        if (!this.onHead(text)) return MALFORMED;
        // An interim answer: the final one follows. Offsets past a joined head are into `buf`.
        if (this.status < 200) continue;
        if ((this.left as number) === 0) return chunk === buf ? at : at - (buf.length - chunk.length);
        continue;
      }
      if (this.left === -2) {
        const end = this.chunked!.scan(buf, at);
        if (end < 0) return end;
        return chunk === buf ? end : end - (buf.length - chunk.length);
      }
      if (this.left === -3) return MORE;
      const take = Math.min(this.left, buf.length - at);
      this.left -= take;
      at += take;
      if (this.left === 0) return chunk === buf ? at : at - (buf.length - chunk.length);
    }
    return MORE;
  }

  private onHead(text: string): boolean {
    if (!text.startsWith("HTTP/1.")) return false;
    const status = Number(text.slice(9, 12));
    if (!(status >= 100 && status < 600)) return false;
    this.status = status;
    if (status < 200) {
      this.left = -1;
      return true;
    }
    let length = -3;
    let close = text.charCodeAt(7) === 48; // HTTP/1.0
    forEachHeaderLine(text, null, (_s, t, start, colon, end) => {
      const n = colon - start;
      if (n === 14 && isNamed(t, start, "content-length")) length = Number(t.slice(colon + 1, end).trim());
      else if (n === 17 && isNamed(t, start, "transfer-encoding")) length = -2;
      else if (n === 10 && isNamed(t, start, "connection")) {
        const v = t.slice(colon + 1, end).toLowerCase();
        if (v.includes("close")) close = true;
        else if (v.includes("keep-alive")) close = false;
      }
    });
    if (this.headOnly || status === 204 || status === 304) length = 0;
    if (!Number.isSafeInteger(length) || length < -3) return false;
    if (length === -3) close = true;
    this.close = close;
    this.left = length;
    if (length === -2) this.chunked = new ChunkedScanner();
    return true;
  }
}

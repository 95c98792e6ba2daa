/**
 * Where a chunked body ends, read as it streams past (the edge forwards the bytes as they
 * come and must know where the next request starts). Strict: a chunk size line is hex digits
 * and an optional `;extension`, then CR LF; anything else is malformed, and the edge refuses
 * the connection rather than guess where another parser would think the body ends.
 */
const enum State {
  Size,
  Extension,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  TrailerLine,
  TrailerLf,
  EndLf,
}

/** A size line or trailer line longer than this is malformed. */
const MAX_LINE = 4096;
const MALFORMED = -2;
const MORE = -1;

export class ChunkedScanner {
  private state = State.Size;
  private size = 0;
  private digits = 0;
  private line = 0;
  /** Body bytes (chunk data) seen so far. */
  dataBytes = 0;

  /**
   * Scans `buf` from `from`: the index just after the body's end, -1 when all of it belongs
   * to the body and more is needed, -2 when it is not a chunked body.
   */
  scan(buf: Uint8Array, from: number): number {
    let i = from;
    while (i < buf.length) {
      const c = buf[i]!;
      switch (this.state) {
        case State.Size: {
          const v = hexValue(c);
          if (v >= 0) {
            if (++this.digits > 12) return MALFORMED;
            this.size = this.size * 16 + v;
          } else if (this.digits === 0) return MALFORMED;
          else if (c === 59) this.state = State.Extension; // ;
          else if (c === 13) this.state = State.SizeLf;
          else return MALFORMED;
          break;
        }
        case State.Extension:
          if (c === 13) this.state = State.SizeLf;
          else if (c === 10 || ++this.line > MAX_LINE) return MALFORMED;
          break;
        case State.SizeLf:
          if (c !== 10) return MALFORMED;
          this.line = 0;
          this.digits = 0;
          this.state = this.size === 0 ? State.TrailerStart : State.Data;
          break;
        case State.Data: {
          const take = Math.min(this.size, buf.length - i);
          this.size -= take;
          this.dataBytes += take;
          i += take;
          if (this.size === 0) this.state = State.DataCr;
          continue;
        }
        case State.DataCr:
          if (c !== 13) return MALFORMED;
          this.state = State.DataLf;
          break;
        case State.DataLf:
          if (c !== 10) return MALFORMED;
          this.state = State.Size;
          break;
        case State.TrailerStart:
          if (c === 13) this.state = State.EndLf;
          else if (c === 10) return MALFORMED;
          else this.state = State.TrailerLine;
          break;
        case State.TrailerLine:
          if (c === 13) this.state = State.TrailerLf;
          else if (c === 10 || ++this.line > MAX_LINE) return MALFORMED;
          break;
        case State.TrailerLf:
          if (c !== 10) return MALFORMED;
          this.line = 0;
          this.state = State.TrailerStart;
          break;
        case State.EndLf:
          if (c !== 10) return MALFORMED;
          return i + 1;
      }
      i++;
    }
    return MORE;
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

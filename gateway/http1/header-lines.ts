/**
 * Checks on the text of an HTTP/1.1 head (latin1), shared by the edge's reading of requests
 * and the pool's reading of answers. In place: no string is cut to look at a name.
 */

/** A CR or LF that is not part of a CR LF line end: a line break one parser may see and another not. */
export function hasBareLineBreak(text: string): boolean {
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) if (text.charCodeAt(i - 1) !== 13) return true;
  for (let i = text.indexOf("\r"); i !== -1; i = text.indexOf("\r", i + 1)) if (text.charCodeAt(i + 1) !== 10) return true;
  return false;
}

/**
 * Whether `buf` holds an LF not preceded by CR from `from` on: a head that can never end in
 * the CR LF CR LF the edge reads, so it is refused at once rather than waited for.
 */
export function hasBareLineFeed(buf: Uint8Array, from: number): boolean {
  for (let i = buf.indexOf(10, from); i !== -1; i = buf.indexOf(10, i + 1)) if (i === from || buf[i - 1] !== 13) return true;
  return false;
}

/**
 * Whether `text` has the header name `name` (lower case) at `start`, in any case. `| 0x20`
 * lower-cases a letter and, in a head without control characters, turns no other character
 * into a letter or a `-`.
 */
export function isNamed(text: string, start: number, name: string): boolean {
  for (let i = 0; i < name.length; i++) if ((text.charCodeAt(start + i) | 0x20) !== name.charCodeAt(i)) return false;
  return true;
}

/** Names by their length, for looking one up with `isNamed` only among those as long. */
export function byLength<T extends string>(names: Iterable<T>): T[][] {
  const table: T[][] = [];
  for (const n of names) (table[n.length] ??= []).push(n);
  return table;
}

/**
 * Calls `visit` for each header line of a head (the first line, the status or request line,
 * skipped) that has a name and a colon. `visit` takes the caller's state rather than closing
 * over it, so a walk allocates nothing.
 */
export function forEachHeaderLine<S>(text: string, state: S, visit: (state: S, text: string, start: number, colon: number, end: number) => void): void {
  let lineEnd = text.indexOf("\r\n");
  while (lineEnd !== -1) {
    const start = lineEnd + 2;
    lineEnd = text.indexOf("\r\n", start);
    const end = lineEnd === -1 ? text.length : lineEnd;
    const colon = text.indexOf(":", start);
    if (colon > start && colon < end) visit(state, text, start, colon, end);
  }
}

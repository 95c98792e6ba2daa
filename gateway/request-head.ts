/**
 * The edge's reading of a request head, for the simple case only and strictly: a GET or HEAD
 * in HTTP/1.1, without a body, to a plain path, with well-formed header lines. Anything else
 * is null, and the edge hands the connection to Bun's own HTTP server, which answers or
 * refuses it as it always did. So the edge never has to agree with another parser on where
 * a request ends or what its path is.
 */

export interface SimpleRequestHead {
  method: "GET" | "HEAD";
  /** Path and query as sent. */
  target: string;
  path: string;
  /** Lower-case names; a repeated header's values joined as RFC 9110 §5.3 allows. */
  headers: Record<string, string>;
  /** The client asked to close the connection after this answer. */
  close: boolean;
}

const table = (chars: string) => {
  const t = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
};
const ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/** RFC 9110 token characters: header names. */
const TOKEN = table(`${ALNUM}!#$%&'*+-.^_\`|~`);
/**
 * Path characters taken as they are: no percent-encoding, no backslash. Bun decodes and
 * normalizes some paths (`/a/../b` becomes `/b`); these never change, so the route the edge
 * picks is the route Bun would pick.
 */
const PATH = table(`${ALNUM}-._~!$&'()*+,;=:@/`);

/**
 * Headers that give a request a body, change the protocol or ask for an interim answer:
 * their requests go to Bun's server.
 */
const NOT_SIMPLE = new Set(["content-length", "transfer-encoding", "upgrade", "expect", "http2-settings"]);

/** `text`: the head up to, not including, the blank line that ends it (latin1). */
export function parseSimpleHead(text: string): SimpleRequestHead | null {
  let lineEnd = text.indexOf("\r\n");
  if (lineEnd === -1) lineEnd = text.length;
  let method: "GET" | "HEAD";
  let at: number;
  if (text.startsWith("GET /")) {
    method = "GET";
    at = 4;
  } else if (text.startsWith("HEAD /")) {
    method = "HEAD";
    at = 5;
  } else return null;
  const targetEnd = lineEnd - 9;
  if (targetEnd <= at || text.slice(targetEnd, lineEnd) !== " HTTP/1.1") return null;
  const target = text.slice(at, targetEnd);
  const pathEnd = scanTarget(target);
  if (pathEnd === -1) return null;

  const headers: Record<string, string> = Object.create(null);
  let host = 0;
  let close = false;
  while (lineEnd < text.length) {
    const start = lineEnd + 2;
    lineEnd = text.indexOf("\r\n", start);
    if (lineEnd === -1) lineEnd = text.length;
    let colon = start;
    while (colon < lineEnd) {
      const c = text.charCodeAt(colon);
      if (c === 58) break;
      if (c >= 128 || TOKEN[c] === 0) return null; // also a folded line, space before the colon
      colon++;
    }
    if (colon === start || colon === lineEnd) return null;
    let from = colon + 1;
    let to = lineEnd;
    while (from < to && isBlank(text.charCodeAt(from))) from++;
    while (to > from && isBlank(text.charCodeAt(to - 1))) to--;
    for (let i = from; i < to; i++) {
      const c = text.charCodeAt(i);
      if ((c < 32 && c !== 9) || c > 126) return null;
    }
    const name = text.slice(start, colon).toLowerCase();
    const value = text.slice(from, to);
    if (NOT_SIMPLE.has(name)) return null;
    if (name === "host") host++;
    else if (name === "connection") {
      const v = value.toLowerCase();
      if (v === "close") close = true;
      else if (v !== "keep-alive") return null;
    }
    const before = headers[name];
    headers[name] = before === undefined ? value : `${before}${name === "cookie" ? "; " : ", "}${value}`;
  }
  if (host !== 1) return null;
  return { method, target, path: pathEnd === target.length ? target : target.slice(0, pathEnd), headers, close };
}

const isBlank = (c: number) => c === 32 || c === 9;

/** Where the path ends (the `?` or the end), or -1 when the target is not a plain one. */
function scanTarget(target: string): number {
  let i = 0;
  for (; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c === 63) break; // ?
    if (c >= 128 || PATH[c] === 0) return -1;
    // No dot segments and no empty ones: nothing for Bun to normalize.
    if (c === 47 && i + 1 < target.length) {
      const next = target.charCodeAt(i + 1);
      if (next === 47 || next === 46) return -1;
    }
  }
  const pathEnd = i;
  for (i++; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 32 || c >= 127 || c === 35) return -1; // controls, space, non-ASCII, fragment
  }
  return pathEnd;
}

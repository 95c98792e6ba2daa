/**
 * The edge's reading of a request it does not answer itself (a write, a path Bun would
 * rewrite, HTTP/1.0...): only what it needs to hand the app one request at a time, namely
 * where the request ends (its body's framing), whether the connection ends after it, and
 * the few headers the edge acts on before the app sees it. Bun.serve closes a connection
 * that pipelines a request behind one answered asynchronously, and answers neither; so the
 * edge never lets the app see a request before the one ahead of it is answered.
 *
 * Strict, because the edge and Bun must agree on where a request ends: a head with two
 * lengths, a length and a chunked encoding, an encoding other than chunked, a folded line or
 * a bare line break is refused (null: the edge answers 400 and closes).
 */
import { hasBareLineBreak, isNamed } from "../http1/header-lines.ts";

export interface RequestFrame {
  method: string;
  /** Path and query as sent. */
  target: string;
  path: string;
  http10: boolean;
  hasHost: boolean;
  /** The body's length; -1 when it has none declared (chunked, or no body). */
  contentLength: number;
  chunked: boolean;
  /** `Expect: 100-continue`: the client waits before sending its body. */
  expectContinue: boolean;
  /** The connection ends after this request's answer. */
  close: boolean;
  authorization: string | null;
  requestId: string | null;
  /** Header lines, as Bun counts them against its limit. */
  headers: number;
  /** X-Forwarded-For as sent (believed only from a trusted proxy). */
  forwardedFor: string | null;
}

const TOKEN = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1;
const BAD_CHARACTER = /[^\t\x20-\x7e\x80-\xff\r\n]/;

const hasToken = (value: string, token: string) => value.toLowerCase().split(",").some((t) => t.trim() === token);

/** `text`: the head without the blank line that ends it (latin1). */
export function frameRequest(text: string): RequestFrame | null {
  if (BAD_CHARACTER.test(text) || hasBareLineBreak(text)) return null;
  const lineEnd = text.indexOf("\r\n");
  const requestLine = lineEnd === -1 ? text : text.slice(0, lineEnd);
  const sp1 = requestLine.indexOf(" ");
  const sp2 = requestLine.indexOf(" ", sp1 + 1);
  if (sp1 <= 0 || sp2 === -1 || requestLine.indexOf(" ", sp2 + 1) !== -1) return null;
  const method = requestLine.slice(0, sp1);
  for (let i = 0; i < method.length; i++) if (TOKEN[method.charCodeAt(i)] !== 1) return null;
  const target = requestLine.slice(sp1 + 1, sp2);
  const version = requestLine.slice(sp2 + 1);
  if (target === "" || (version !== "HTTP/1.1" && version !== "HTTP/1.0")) return null;
  const http10 = version === "HTTP/1.0";
  const query = target.indexOf("?");
  const frame: RequestFrame = {
    method,
    target,
    path: query === -1 ? target : target.slice(0, query),
    http10,
    hasHost: false,
    contentLength: -1,
    chunked: false,
    expectContinue: false,
    // Bun's server closes the connection after an HTTP/1.0 answer, keep-alive asked or not.
    close: http10,
    authorization: null,
    requestId: null,
    headers: 0,
    forwardedFor: null,
  };
  let encodings = 0;
  let start = lineEnd === -1 ? text.length : lineEnd + 2;
  while (start < text.length) {
    let end = text.indexOf("\r\n", start);
    if (end === -1) end = text.length;
    const colon = text.indexOf(":", start);
    if (colon <= start || colon > end) return null; // no name, or a folded line
    for (let i = start; i < colon; i++) if (TOKEN[text.charCodeAt(i)] !== 1) return null;
    frame.headers++;
    const length = colon - start;
    const value = () => text.slice(colon + 1, end).trim();
    if (length === 4 && isNamed(text, start, "host")) frame.hasHost = true;
    else if (length === 14 && isNamed(text, start, "content-length")) {
      const v = value();
      if (!/^\d{1,15}$/.test(v) || (frame.contentLength !== -1 && frame.contentLength !== Number(v))) return null;
      frame.contentLength = Number(v);
    } else if (length === 17 && isNamed(text, start, "transfer-encoding")) {
      if (value().toLowerCase() !== "chunked" || ++encodings > 1) return null;
      frame.chunked = true;
    } else if (length === 10 && isNamed(text, start, "connection")) {
      const v = value();
      if (hasToken(v, "close")) frame.close = true;
    } else if (length === 6 && isNamed(text, start, "expect")) frame.expectContinue = value().toLowerCase() === "100-continue";
    else if (length === 13 && isNamed(text, start, "authorization")) frame.authorization = value();
    else if (length === 12 && isNamed(text, start, "x-request-id")) frame.requestId = value();
    else if (length === 15 && isNamed(text, start, "x-forwarded-for")) frame.forwardedFor = frame.forwardedFor === null ? value() : `${frame.forwardedFor}, ${value()}`;
    start = end + 2;
  }
  if (frame.chunked && (frame.contentLength !== -1 || http10)) return null;
  return frame;
}

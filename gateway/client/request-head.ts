/**
 * The edge's reading of a request head, for the simple case only and strictly: a GET or HEAD
 * in HTTP/1.1, without a body, to a plain path, with well-formed header lines; or a POST,
 * PUT, PATCH or DELETE the same but for one Content-Length of digits (no Transfer-Encoding,
 * no Expect), so where its body ends is never in doubt. Anything else
 * is null, and the edge hands the connection to Bun's own HTTP server, which answers or
 * refuses it as it always did. So the edge never has to agree with another parser on where
 * a request ends or what its path is.
 *
 * It builds no header map: one regular expression checks the characters of the whole head,
 * header names are checked and compared in place, and only the values the proxy reads are
 * cut out. The lines passed upstream are taken as they came, in as few pieces as the dropped
 * ones allow.
 */
import { byLength, hasBareLineBreak, isNamed } from "../http1/header-lines.ts";
import { DROPPED_REQUEST_HEADERS, type ClientRequest } from "../client-request.ts";

export interface SimpleRequestHead extends ClientRequest {
  method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** The body's length (a write's), or -1: none (a GET's or HEAD's). */
  contentLength: number;
  /** The client asked to close the connection after this answer. */
  close: boolean;
  /** Header lines, as Bun counts them against its limit. */
  headers: number;
  /** X-Forwarded-For as sent (never passed on; believed only from a trusted proxy). */
  forwardedFor: string | null;
}

/** Anything but tab, visible ASCII and line breaks (checked apart). One class, no alternatives: the cheapest scan of a whole head. */
const BAD_CHARACTER = /[^\t\x20-\x7e\r\n]/;

const ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/** RFC 9110 token characters: header names. */
const TOKEN = new Uint8Array(128);
for (const c of `${ALNUM}!#$%&'*+-.^_\`|~`) TOKEN[c.charCodeAt(0)] = 1;
/**
 * Path characters taken as they are: no percent-encoding, no backslash. Bun normalizes some
 * paths (`/a/../b` becomes `/b`); these never change, so the route the edge picks is the
 * route Bun would pick.
 */
const PATH = new Uint8Array(128);
for (const c of `${ALNUM}-._~!$&'()*+,;=:@/`) PATH[c.charCodeAt(0)] = 1;

const enum Kind {
  Other,
  Host,
  Connection,
  Authorization,
  RequestId,
  Traceparent,
  /** Not passed upstream. */
  Dropped,
  /** Not passed upstream; its value is read for a trusted proxy. */
  ForwardedFor,
  /** A write's body length; for a GET or HEAD, not simple. */
  ContentLength,
  /** Gives the request a body, changes the protocol or asks for an interim answer. */
  NotSimple,
}

/** The header names the parser acts on (lower case), and what each is. */
const KINDS = new Map<string, Kind>([
  ["host", Kind.Host],
  ["connection", Kind.Connection],
  ["authorization", Kind.Authorization],
  ["x-request-id", Kind.RequestId],
  ["traceparent", Kind.Traceparent],
  ["x-forwarded-for", Kind.ForwardedFor],
  ["content-length", Kind.ContentLength],
  ...["transfer-encoding", "upgrade", "expect", "http2-settings"].map((n): [string, Kind] => [n, Kind.NotSimple]),
]);
for (const n of DROPPED_REQUEST_HEADERS) if (!KINDS.has(n)) KINDS.set(n, Kind.Dropped);
const NAMES_BY_LENGTH = byLength(KINDS.keys());

/** The kind of the header named `text[start, start + length)`. */
function kindOf(text: string, start: number, length: number): Kind {
  const candidates = NAMES_BY_LENGTH[length];
  if (candidates !== undefined) for (const known of candidates) if (isNamed(text, start, known)) return KINDS.get(known)!;
  return Kind.Other;
}

const valueOf = (text: string, colon: number, lineEnd: number) => text.slice(colon + 1, lineEnd).trim();

/** `text`: the head up to, not including, the blank line that ends it (latin1). */
export function parseSimpleHead(text: string): SimpleRequestHead | null {
  // Written out rather than a loop over a table of methods: on every request of a spike, the
  // loop measured slower for the GET it almost always finds first.
  let method: SimpleRequestHead["method"];
  let at: number;
  if (text.startsWith("GET /")) {
    method = "GET";
    at = 4;
  } else if (text.startsWith("HEAD /")) {
    method = "HEAD";
    at = 5;
  } else if (text.startsWith("POST /")) {
    method = "POST";
    at = 5;
  } else if (text.startsWith("PUT /")) {
    method = "PUT";
    at = 4;
  } else if (text.startsWith("PATCH /")) {
    method = "PATCH";
    at = 6;
  } else if (text.startsWith("DELETE /")) {
    method = "DELETE";
    at = 7;
  } else return null;
  const write = method !== "GET" && method !== "HEAD";
  const requestLineEnd = text.indexOf("\r\n");
  if (requestLineEnd === -1) return null; // no Host
  const targetEnd = requestLineEnd - 9;
  if (targetEnd <= at || !text.startsWith(" HTTP/1.1", targetEnd)) return null;
  const pathEnd = scanTarget(text, at, targetEnd);
  if (pathEnd === -1 || BAD_CHARACTER.test(text) || hasBareLineBreak(text)) return null;

  let hosts = 0;
  let lines = 0;
  let close = false;
  let authorization: string | null = null;
  let requestId: string | null = null;
  let traceparent: string | null = null;
  let forwardedFor: string | null = null;
  let contentLength = -1;
  let headerLines = "";
  // Lines from here on are passed upstream until one that is not.
  let keptFrom = requestLineEnd + 2;
  let lineStart = keptFrom;
  while (lineStart < text.length) {
    let lineEnd = text.indexOf("\r\n", lineStart);
    if (lineEnd === -1) lineEnd = text.length;
    const colon = text.indexOf(":", lineStart);
    // A name (a token) and a colon: not a space before the colon, not a folded line.
    if (colon === lineStart || colon === -1 || colon > lineEnd) return null;
    for (let i = lineStart; i < colon; i++) if (TOKEN[text.charCodeAt(i)] !== 1) return null;
    lines++;
    const kind = kindOf(text, lineStart, colon - lineStart);
    if (kind !== Kind.Other) {
      if (kind === Kind.NotSimple) return null;
      if (kind === Kind.ContentLength) {
        if (!write || contentLength !== -1) return null;
        contentLength = lengthOf(valueOf(text, colon, lineEnd));
        if (contentLength === -1) return null;
        if (keptFrom < lineStart) headerLines += text.slice(keptFrom, lineStart);
        keptFrom = lineEnd + 2;
      } else if (kind === Kind.Authorization) {
        if (authorization !== null) return null;
        authorization = valueOf(text, colon, lineEnd);
      } else {
        if (keptFrom < lineStart) headerLines += text.slice(keptFrom, lineStart);
        keptFrom = lineEnd + 2;
        if (kind === Kind.Host) hosts++;
        else if (kind === Kind.Connection) {
          const v = valueOf(text, colon, lineEnd).toLowerCase();
          if (v === "close") close = true;
          else if (v !== "keep-alive") return null;
        } else if (kind === Kind.RequestId) {
          if (requestId !== null) return null;
          requestId = valueOf(text, colon, lineEnd);
        } else if (kind === Kind.Traceparent) {
          if (traceparent !== null) return null;
          traceparent = valueOf(text, colon, lineEnd);
        } else if (kind === Kind.ForwardedFor) {
          const v = valueOf(text, colon, lineEnd);
          forwardedFor = forwardedFor === null ? v : `${forwardedFor}, ${v}`;
        }
      }
    }
    lineStart = lineEnd + 2;
  }
  if (hosts !== 1 || (write && contentLength === -1)) return null;
  if (keptFrom < text.length) headerLines += `${text.slice(keptFrom)}\r\n`;
  const target = text.slice(at, targetEnd);
  return { method, target, path: pathEnd === targetEnd ? target : text.slice(at, pathEnd), authorization, requestId, traceparent, headerLines, close, headers: lines, forwardedFor, contentLength };
}

/** A Content-Length of digits only (no sign, no list, not past what a double holds exactly), or -1. */
function lengthOf(v: string): number {
  if (v.length === 0 || v.length > 15) return -1;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
  }
  return Number(v);
}

/** Where the path ends in `text[from, to)` (the `?` or `to`), or -1 when the target is not a plain one. */
function scanTarget(text: string, from: number, to: number): number {
  let i = from;
  for (; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 63) break; // ?
    if (c >= 128 || PATH[c] === 0) return -1;
    // No dot segments and no empty ones: nothing for Bun to normalize.
    if (c === 47 && i + 1 < to) {
      const next = text.charCodeAt(i + 1);
      if (next === 47 || next === 46) return -1;
    }
  }
  const pathEnd = i;
  for (i++; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c <= 32 || c >= 127 || c === 35) return -1; // controls, space, non-ASCII, fragment
  }
  return pathEnd;
}

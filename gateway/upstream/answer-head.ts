/**
 * The head of an upstream's answer as the gateway reads it: its status, whether it can be
 * passed on byte for byte, and how its body is framed. Each reader (a kept-alive connection,
 * the multiplexed channel) keeps one and reads every answer's head into it, so that reading
 * allocates nothing.
 */
import { CONNECTION_HEADERS } from "../../lib/connection-headers.ts";
import { byLength, forEachHeaderLine, hasBareLineBreak, isNamed } from "../http1/header-lines.ts";

/** Of the connection headers, the ones an answer passed on byte for byte must not have. */
const HOP_BY_HOP_HEADERS = new Set([...CONNECTION_HEADERS].filter((n) => n !== "content-length" && n !== "date"));
/** Control characters other than line breaks (those outside a CR LF are looked for apart): a head no client should be given. */
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;
/** The header names the reader looks at (those above and x-request-id), by length. */
const KNOWN_BY_LENGTH = byLength([...CONNECTION_HEADERS, "x-request-id"]);

/** `length` of an answer whose body is chunked. */
export const CHUNKED = -2;
/** `length` of an answer whose body runs until the connection closes. */
export const UNTIL_CLOSE = -3;

export class AnswerHead {
  status = 0;
  /** The head as received, without its blank line. */
  text = "";
  hasRequestId = false;
  /** HTTP/1.1 without `connection: close`, and a body of a known end. */
  keepAlive = true;
  /** Can be passed on as it is (see `UpstreamAnswer.raw`). */
  passable = false;
  /** The body's length in bytes, or CHUNKED, or UNTIL_CLOSE. */
  length = UNTIL_CLOSE;

  /**
   * Reads `text` (the head up to its blank line) of the answer to a request that was a HEAD
   * (`headOnly`) or not; returns null, or why the answer cannot be taken.
   */
  read(text: string, headOnly: boolean): string | null {
    const status = Number(text.slice(9, 12));
    if (!text.startsWith("HTTP/1.") || !(status >= 100 && status < 600) || CONTROL.test(text) || hasBareLineBreak(text)) return "malformed response head";
    // The gateway never asks for one (it sends no Expect) and has no way to pass it on.
    if (status < 200) return "interim (1xx) answer";
    this.status = status;
    this.keepAlive = text.charCodeAt(7) === 49; // HTTP/1.1 keeps the connection unless it says otherwise
    this.passable = this.keepAlive;
    this.text = text;
    this.hasRequestId = false;
    // The length the head declares; UNTIL_CLOSE when it declares none.
    this.length = UNTIL_CLOSE;
    forEachHeaderLine(text, this, AnswerHead.onHeader);
    if (headOnly || status === 204 || status === 304) this.length = 0;
    const length = this.length;
    if (!(length >= UNTIL_CLOSE) || (length >= 0 && !Number.isSafeInteger(length))) return "bad content-length";
    if (length === UNTIL_CLOSE) this.keepAlive = false;
    this.passable &&= length >= 0;
    return null;
  }

  /** One header line: only the names the reader acts on are looked at. */
  private static onHeader(head: AnswerHead, text: string, start: number, colon: number, end: number): void {
    const candidates = KNOWN_BY_LENGTH[colon - start];
    if (candidates === undefined) return;
    let known = "";
    for (const name of candidates) if (isNamed(text, start, name)) known = name;
    if (known === "x-request-id") head.hasRequestId = true;
    else if (known === "content-length") head.length = Number(text.slice(colon + 1, end));
    else if (known === "transfer-encoding" && text.slice(colon + 1, end).toLowerCase().includes("chunked")) head.length = CHUNKED;
    else if (known === "connection") head.keepAlive = text.slice(colon + 1, end).trim().toLowerCase() !== "close";
    if (HOP_BY_HOP_HEADERS.has(known)) head.passable = false;
  }
}

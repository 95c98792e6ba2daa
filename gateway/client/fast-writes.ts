/**
 * The fast lane for writes: a POST, PUT, PATCH or DELETE to a proxied route with one
 * Content-Length and nothing else about its framing (POST /orders). It is admitted on route,
 * token and rate limits from its head, so a refused one costs no body read; then its body is
 * read here, within the body limit and the body timeout, counted with the bytes the edge
 * holds, and goes upstream with its request, alone on its connection like any write.
 */
import { errorResponse } from "../../lib/errors.ts";
import { describeError } from "../../lib/log.ts";
import type { BodySink } from "../proxy.ts";
import { AnswerSlot, Deadline, type ConnectionState } from "./connection-state.ts";
import type { SimpleRequestHead } from "./request-head.ts";

export const enum Write {
  /** Its body is to be read next. */
  BodyNext,
  /** Answered without its body: refused on token or rate, or the proxy failed. */
  Answered,
  /** Not a route the gateway proxies: the app's. */
  App,
}

/** A write read by its head (`available`: body bytes already here). */
export function takeWrite(conn: ConnectionState, head: SimpleRequestHead, available: number): Write {
  const answer = new AnswerSlot(conn, false);
  conn.answers.push(answer);
  let sink: BodySink | null | false;
  try {
    sink = conn.edge.options.proxy.begin(head, conn.believeForwarded ? conn.clientOf(head.forwardedFor) : conn.clientIp, answer);
  } catch (e) {
    conn.edge.options.log.error("unhandled error", { method: head.method, path: head.path, ...describeError(e) });
    answer.own(errorResponse("INTERNAL_ERROR", "Internal error"));
    return Write.Answered;
  }
  if (sink === false) {
    conn.answers.pop();
    answer.settle();
    return Write.App;
  }
  if (sink === null) return Write.Answered;
  const length = head.contentLength;
  // Held until it goes upstream: counted with the bytes waiting for clients.
  const body = available >= length ? null : Buffer.allocUnsafe(length);
  if (body !== null) conn.edge.budget.bytes += length;
  conn.writing = { sink, answer, body, length, got: 0, close: head.close };
  conn.deadlines[Deadline.Head] = 0;
  conn.deadlines[Deadline.Body] = conn.edge.now + conn.edge.limits.bodyTimeoutMs;
  return Write.BodyNext;
}

/**
 * Reads the fast-lane write's body from `at`; once whole, sends it. Returns where it ended,
 * or -1 when all of `buf` was body.
 */
export function readBody(conn: ConnectionState, buf: Buffer, at: number): number {
  const w = conn.writing!;
  const n = Math.min(buf.length - at, w.length - w.got);
  let body: Buffer;
  if (w.body === null) body = buf.subarray(at, at + n);
  else {
    buf.copy(w.body, w.got, at, at + n);
    body = w.body;
  }
  w.got += n;
  if (w.got < w.length) {
    conn.deadlines[Deadline.Body] = conn.edge.now + conn.edge.limits.bodyTimeoutMs;
    return -1;
  }
  endWrite(conn);
  conn.deadlines[Deadline.Body] = 0;
  try {
    w.sink.send(body);
  } catch (e) {
    conn.edge.options.log.error("unhandled error", { ...describeError(e) });
    w.answer.own(errorResponse("INTERNAL_ERROR", "Internal error"));
  }
  if (w.close) conn.closing = true;
  return at + n;
}

/** The write's body is no longer held here (sent, or the client went away). */
export function endWrite(conn: ConnectionState): void {
  const w = conn.writing!;
  conn.writing = null;
  if (w.body !== null) conn.edge.budget.bytes -= w.length;
}

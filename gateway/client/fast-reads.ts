/**
 * The fast lane for reads: a body-less GET or HEAD to a proxied route, read by the edge
 * itself (request-head.ts) and handed to the proxy with its slot in the connection's order.
 * What its answer will hold is known from the last one for its target, so a client is not
 * asked more for than it could be holding (backpressure), nor the process more than its cap.
 */
import { errorResponse } from "../../lib/errors.ts";
import { describeError } from "../../lib/log.ts";
import { AnswerSlot, type ConnectionState } from "./connection-state.ts";
import { PIPELINE_BYTES } from "./edge-state.ts";
import type { SimpleRequestHead } from "./request-head.ts";

export const enum Read {
  /** Not taken yet: the connection waits until its answers are out. */
  Held,
  /** Taken: handed to the proxy, or shed. */
  Taken,
  /** Not a route the gateway proxies: the app's. */
  App,
}

export function takeRead(conn: ConnectionState, head: SimpleRequestHead): Read {
  const expected = conn.edge.sizes.get(head.target) ?? 0;
  if (conn.answers.length > 0 && conn.owed + conn.out.size + expected > PIPELINE_BYTES) {
    conn.pause();
    return Read.Held;
  }
  conn.requests++;
  if (conn.shedding(head.requestId, expected)) return Read.Taken;
  const answer = new AnswerSlot(conn, head.method === "HEAD");
  answer.target = head.target;
  answer.expected = expected;
  conn.owed += expected;
  conn.edge.owed += expected;
  conn.answers.push(answer);
  if (forward(conn, head, answer)) {
    if (head.close) conn.close();
    return Read.Taken;
  }
  conn.answers.pop();
  answer.settle();
  return Read.App;
}

/** Hands a request to the proxy; a bug there costs that request a 500, not the connection its answers. */
function forward(conn: ConnectionState, head: SimpleRequestHead, answer: AnswerSlot): boolean {
  try {
    return conn.edge.options.proxy.forward(head, conn.believeForwarded ? conn.clientOf(head.forwardedFor) : conn.clientIp, answer);
  } catch (e) {
    conn.edge.options.log.error("unhandled error", { method: head.method, path: head.path, ...describeError(e) });
    answer.own(errorResponse("INTERNAL_ERROR", "Internal error"));
    return true;
  }
}

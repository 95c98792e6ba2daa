/**
 * Past the process's capacity, what the edge sheds so that the clients already served keep
 * their answers: new connections past the caps get one cheap 503; new requests past the
 * in-flight cap or the bytes cap get a 503 at once, in their place; and past the bytes cap
 * the largest holders (clients that do not read) are dropped.
 */
import { errorAnswerBytes } from "./answer-encoding.ts";
import type { EdgeState, ShedReason } from "./edge-state.ts";

const RETRY_AFTER = "retry-after: 1\r\n";

/** Refused connections get this and nothing more. */
export const CONNECTIONS_REFUSED = errorAnswerBytes(503, "UNAVAILABLE", "Too many connections; try again shortly", "connection-refused", RETRY_AFTER, true);

/** Why a new request is shed now (`expected`: the answer bytes it is expected to add), or null when it may be taken. */
export function shedReason(edge: EdgeState, expected: number): ShedReason | null {
  return edge.inFlight >= edge.limits.maxInFlight ? "overload" : edge.budget.bytes + edge.owed + expected > edge.limits.bufferBytes ? "memory" : null;
}

/** The shed request's answer. */
export const atCapacity = (requestId: string): Uint8Array => errorAnswerBytes(503, "UNAVAILABLE", "The gateway is at capacity; try again shortly", requestId, RETRY_AFTER);

/** Past the global cap on bytes waiting for clients: the largest holders (clients that do not read) are dropped. */
export function relieve(edge: EdgeState): void {
  const target = edge.limits.bufferBytes * 0.75;
  const holders = [...edge.connections].filter((c) => c.buffered > 0).sort((a, b) => b.buffered - a.buffered);
  for (const c of holders) {
    if (edge.budget.bytes <= target) break;
    edge.shed.memory++;
    c.terminate();
    c.onClose(); // gives its bytes back now, not at the close event
  }
  // What they held is garbage now, and much more of it is on its way (their answers in
  // flight): without a collection the process's memory grows well past the cap first.
  if (edge.now - edge.lastCollection >= 1000) {
    edge.lastCollection = edge.now;
    Bun.gc(true);
  }
}

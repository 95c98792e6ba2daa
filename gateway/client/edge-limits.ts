/**
 * What the edge holds a client to, and what it refuses past that: the limits every
 * production proxy has (nginx's client timeouts and lingering close, HAProxy's connection
 * caps, Envoy's overload manager), each a setting (see config.ts).
 */

export interface EdgeLimits {
  /** Reading a request head, from its first byte to its end. */
  headTimeoutMs: number;
  /** A request body that sends nothing for this long is dropped. */
  bodyTimeoutMs: number;
  /** A client that takes no byte of what it is owed for this long is dropped. */
  sendTimeoutMs: number;
  /** After a refusal, what the client still sends is read and dropped, this long and this much at most, so it can read the answer. */
  lingerMs: number;
  lingerBytes: number;
  /** Bytes waiting for one client before it is dropped. */
  connectionBufferBytes: number;
  /** Bytes waiting for all clients of this process; past it, the largest holders are dropped and new requests shed. */
  bufferBytes: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** Requests being answered at once in this process; past it, new ones get 503 at once. */
  maxInFlight: number;
}

export const DEFAULT_EDGE_LIMITS: EdgeLimits = {
  headTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  sendTimeoutMs: 30_000,
  lingerMs: 5000,
  lingerBytes: 1024 * 1024,
  connectionBufferBytes: 8 * 1024 * 1024,
  bufferBytes: 64 * 1024 * 1024,
  maxConnections: 20_000,
  maxConnectionsPerAddress: 4096,
  maxInFlight: 1024,
};

/**
 * Bun.serve's own limits on a request head, found by experiment on Bun 1.4.5: 16,384 bytes
 * (the blank line included) and 198 header lines; past them it answers a bare 431. The
 * upstream services and the gateway's app are Bun.serve, and the gateway adds lines of its
 * own (host, x-request-id, x-forwarded-for, traceparent, x-user-id, content-length,
 * connection): so the edge refuses, in the contract's shape, a head that would pass them
 * once those are added.
 */
const BUN_HEAD_BYTES = 16_384;
const BUN_HEADER_LINES = 198;
const ADDED_LINES = 7;
/** Generous for what the gateway adds: a 128-character request id, an IPv6 address, a trace context, a user id. */
const ADDED_BYTES = 640;
export const MAX_HEAD_BYTES = BUN_HEAD_BYTES - ADDED_BYTES;
export const MAX_HEADER_LINES = BUN_HEADER_LINES - ADDED_LINES;

/** Bytes waiting for a client (or the app) past which the other side is not read: backpressure. */
export const HIGH_WATER_BYTES = 64 * 1024;

/**
 * A request's bytes as they go upstream on a kept-alive connection, beside the reading of
 * the answers that come back (connection.ts). The client's own header lines are passed as
 * they came; the gateway adds what only it may say (the request id, the client's address,
 * the verified user) and frames the body by its length.
 */

/** What goes upstream besides the client's header lines. */
export interface OutgoingRequest {
  readonly method: string;
  /** Path and query as the client sent them. */
  readonly target: string;
  /** The client's header lines to pass on, `Name: value\r\n` each. */
  readonly headerLines: string;
  readonly requestId: string;
  readonly clientIp: string;
  readonly traceparent: string | null;
  readonly userId: string | null;
  readonly body: Uint8Array | null;
}

/** The request for an instance reached as `host`. */
export function encodeRequest(r: OutgoingRequest, host: string): Uint8Array {
  let head = `${r.method} ${r.target} HTTP/1.1\r\nhost: ${host}\r\n${r.headerLines}x-request-id: ${r.requestId}\r\nx-forwarded-for: ${r.clientIp}\r\n`;
  if (r.traceparent !== null) head += `traceparent: ${r.traceparent}\r\n`;
  if (r.userId !== null) head += `x-user-id: ${r.userId}\r\n`;
  const body = r.body;
  head += `content-length: ${body === null ? 0 : body.length}\r\nconnection: keep-alive\r\n\r\n`;
  const bytes = Buffer.from(head, "latin1");
  return body === null ? bytes : Buffer.concat([bytes, body]);
}

/** A client's request as the proxy takes it, from Bun's Request (the app) or from the edge's own reading of its head. */

export interface ClientRequest {
  method: string;
  /** Path and query as sent. */
  target: string;
  path: string;
  authorization: string | null;
  /** The caller's X-Request-ID, if any. */
  requestId: string | null;
  traceparent: string | null;
  /**
   * The header lines to pass upstream, `Name: value\r\n` each: all but the ones the gateway
   * drops or sets (DROPPED_REQUEST_HEADERS) and traceparent.
   */
  headerLines: string;
}

/**
 * Request headers that never go upstream: hop-by-hop ones (RFC 9110 §7.6.1), the ones the
 * gateway sets itself, and the ones services trust because only the gateway sets them.
 */
export const DROPPED_REQUEST_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "expect",
  "host",
  "content-length",
  "x-request-id",
  "x-user-id",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-real-ip",
  "forwarded",
]);

/** The same from Bun's Request (`headers`: its headers, one native call, names in lower case). */
export function clientRequestOf(method: string, target: string, path: string, headers: Record<string, string>): ClientRequest {
  let headerLines = "";
  for (const name in headers) if (!DROPPED_REQUEST_HEADERS.has(name) && name !== "traceparent") headerLines += `${name}: ${headers[name]}\r\n`;
  return {
    method,
    target,
    path,
    authorization: headers.authorization ?? null,
    requestId: headers["x-request-id"] ?? null,
    traceparent: headers.traceparent ?? null,
    headerLines,
  };
}

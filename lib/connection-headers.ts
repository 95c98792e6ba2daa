/** Headers about the connection, not the answer (RFC 9110 §7.6.1), and ones Bun sets itself. */
export const CONNECTION_HEADERS: ReadonlySet<string> = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "date", "trailer", "upgrade", "proxy-connection"]);

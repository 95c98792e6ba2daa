/**
 * Telling "the database cannot be reached right now" apart from "bad query", from the error's
 * code alone: apart from lib/db.ts so that code which only answers such errors (every service's
 * error hook, the gateway's included) does not bundle the database driver.
 */

const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EPIPE",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
]);

/** True when an error means "the database cannot be reached right now", not "bad query". */
export function isDatabaseUnavailable(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return false;
  if (UNAVAILABLE_CODES.has(code)) return true;
  // SQLSTATE classes: 08 connection exception, 57P0x shutdown / cannot connect now, 53 resources.
  return code.startsWith("08") || code.startsWith("57P0") || code.startsWith("53");
}

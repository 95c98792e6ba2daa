/**
 * Access tokens for users nobody registers (the bench's buyers, the order suites' users):
 * orders need a verified subject, not a user row, and the bench and the tests know the signing
 * key of the stack they start. A token is what auth
 * signs (HS256, `sub`, `type: "access"`, `iat`, `exp`), made with one HMAC so a generator
 * process can mint a hundred thousand of them before a scenario starts.
 */
import { createHmac } from "node:crypto";

// The header never changes, so it is encoded once.
const HEADER = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");

export function mintAccessToken(secret: string, sub: string, ttlSeconds: number, nowSeconds = Math.floor(Date.now() / 1000)): string {
  const claims = Buffer.from(JSON.stringify({ sub, type: "access", iat: nowSeconds, exp: nowSeconds + ttlSeconds })).toString("base64url");
  const signed = `${HEADER}.${claims}`;
  return `${signed}.${createHmac("sha256", secret).update(signed).digest("base64url")}`;
}

/** A token for `sub` (a fresh subject by default), valid for an hour: what the end-to-end suites call. */
export const accessToken = (secret: string, sub: string = crypto.randomUUID(), ttlSeconds = 3600): string => mintAccessToken(secret, sub, ttlSeconds);

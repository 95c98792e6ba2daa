/**
 * Access tokens for users the bench never registers: orders need a verified subject, not a
 * user row, and the bench knows the signing key of the stack it starts. A token is what auth
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

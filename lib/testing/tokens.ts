/** Access tokens for any subject, signed with a stack's key: orders need a verified subject, not a registered user. */
import { createHmac } from "node:crypto";

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

export function accessToken(secret: string, sub: string = crypto.randomUUID(), ttlSeconds = 3600): string {
  const now = Math.floor(Date.now() / 1000);
  const head = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub, type: "access", iat: now, exp: now + ttlSeconds })}`;
  return `${head}.${createHmac("sha256", secret).update(head).digest("base64url")}`;
}

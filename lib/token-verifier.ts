/**
 * HS256 JWT verification for the hot path. `jose` (under @elysiajs/jwt) spends many times
 * what one HMAC-SHA256 costs on a verify (the README has the figures). This checks what jose
 * checks for our tokens:
 * three segments, a header that pins `alg` to HS256 (no `crit`), a signature compared in
 * constant time, and `exp`/`nbf`, plus our own `type` and `sub` (one that can travel as a
 * header). Verified tokens are cached until they expire, in a bounded map.
 * `lib/token-verifier.test.ts` holds it to the library's verdicts on forged tokens.
 */
import { timingSafeEqual } from "node:crypto";

export type TokenType = "access" | "refresh";

/** The same rules for the library path (auth verifies with @elysiajs/jwt): HS256 only, exp required. */
export const LIBRARY_VERIFY_OPTIONS = { algorithms: ["HS256"], requiredClaims: ["exp", "sub"] };

export interface VerifiedToken {
  sub: string;
  exp: number;
}

const decoder = new TextDecoder();
const b64urlJson = (segment: string): unknown => {
  if (!/^[A-Za-z0-9_-]*$/.test(segment)) return undefined;
  try {
    return JSON.parse(decoder.decode(Buffer.from(segment, "base64url")));
  } catch {
    return undefined;
  }
};

/**
 * A subject the gateway can pass on as `X-User-ID` and a service can store: visible ASCII
 * (auth issues UUIDs). A control character could end the header line and add one of its own.
 */
const SUBJECT = /^[\x21-\x7e]{1,255}$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export class TokenVerifier {
  private readonly cache = new Map<string, VerifiedToken>();
  /**
   * The cached tokens in insertion order, a ring: the oldest is evicted by name. Taking it from
   * the Map's own iterator instead walks past every entry deleted before it, which with each
   * request a new buyer (a sale) made eviction cost more than the verify.
   */
  private readonly order: (string | undefined)[];
  private next = 0;
  private readonly goodHeaders = new Set<string>();

  constructor(
    private readonly secret: string,
    private readonly type: TokenType = "access",
    private readonly cacheSize = 10_000,
  ) {
    this.order = new Array(cacheSize);
  }

  /** The token's subject and expiry, or null for anything not a valid token of our type. */
  verify(token: string, nowSeconds = Date.now() / 1000): VerifiedToken | null {
    const cached = this.cache.get(token);
    if (cached !== undefined) {
      if (nowSeconds < cached.exp) return cached;
      this.cache.delete(token);
      return null;
    }
    const verified = this.verifyUncached(token, nowSeconds);
    if (verified !== null && this.cacheSize > 0) {
      // A slot may name a token already dropped as expired: deleting it again is harmless, and
      // an expired token is never cached again, so no slot names a live entry twice.
      const oldest = this.order[this.next];
      if (oldest !== undefined) this.cache.delete(oldest);
      this.order[this.next] = token;
      this.next = (this.next + 1) % this.cacheSize;
      this.cache.set(token, verified);
    }
    return verified;
  }

  private verifyUncached(token: string, now: number): VerifiedToken | null {
    const dot1 = token.indexOf(".");
    const dot2 = token.indexOf(".", dot1 + 1);
    if (dot1 <= 0 || dot2 <= dot1 + 1 || token.indexOf(".", dot2 + 1) !== -1) return null;
    const headerSegment = token.slice(0, dot1);
    if (!this.goodHeaders.has(headerSegment)) {
      const header = b64urlJson(headerSegment);
      if (!isObject(header) || header.alg !== "HS256" || "crit" in header || header.b64 === false) return null;
      if (this.goodHeaders.size < 16) this.goodHeaders.add(headerSegment);
    }
    const expected = new Bun.CryptoHasher("sha256", this.secret).update(token.slice(0, dot2)).digest("base64url");
    const given = token.slice(dot2 + 1);
    if (given.length !== expected.length || !timingSafeEqual(Buffer.from(given), Buffer.from(expected))) return null;
    const claims = b64urlJson(token.slice(dot1 + 1, dot2));
    if (!isObject(claims)) return null;
    const { sub, exp, nbf, type } = claims;
    if (type !== this.type || typeof sub !== "string" || !SUBJECT.test(sub)) return null;
    if (typeof exp !== "number" || !Number.isFinite(exp) || now >= exp) return null;
    if (nbf !== undefined && (typeof nbf !== "number" || nbf > now)) return null;
    if (claims.iat !== undefined && typeof claims.iat !== "number") return null;
    return { sub, exp };
  }
}

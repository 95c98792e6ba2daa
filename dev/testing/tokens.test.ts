/**
 * The bench's own tokens must pass every verifier a real user's token passes: the gateway's
 * hot-path verifier, the library auth verifies with, and the running stack itself.
 */
import { describe, expect, test } from "bun:test";
import { jwt } from "@elysiajs/jwt";
import { Elysia } from "elysia";
import { call } from "./http.ts";
import { TEST_JWT_SECRET, testStack } from "./test-stack.ts";
import { useEndToEndTimeouts } from "./timeouts.ts";
import { LIBRARY_VERIFY_OPTIONS, TokenVerifier } from "../../lib/token-verifier.ts";
import { mintAccessToken } from "./tokens.ts";

useEndToEndTimeouts();

const SECRET = "bench-token-test-secret-0123456789abcdef";

describe("minted access tokens", () => {
  test("pass the gateway's verifier and @elysiajs/jwt, with their own subject and expiry", async () => {
    const sub = crypto.randomUUID();
    const token = mintAccessToken(SECRET, sub, 600);
    const now = Math.floor(Date.now() / 1000);
    expect(new TokenVerifier(SECRET).verify(token)).toEqual({ sub, exp: expect.any(Number) });
    const library = new Elysia().use(jwt({ name: "jwt", secret: SECRET, alg: "HS256" })).decorator.jwt;
    const claims = await library.verify(token, LIBRARY_VERIFY_OPTIONS);
    expect(claims).toMatchObject({ sub, type: "access" });
    if (claims === false) throw new Error("unreachable");
    expect(claims.exp! - now).toBeGreaterThanOrEqual(599);
    expect(claims.iat).toBeLessThanOrEqual(now + 1);
  });

  test("are refused when signed with another key or expired", () => {
    const verifier = new TokenVerifier(SECRET);
    expect(verifier.verify(mintAccessToken("some-other-key-0123456789abcdef", crypto.randomUUID(), 600))).toBeNull();
    expect(verifier.verify(mintAccessToken(SECRET, crypto.randomUUID(), 60, Math.floor(Date.now() / 1000) - 120))).toBeNull();
    // A refresh token is not an access token: the type is in the claims the bench signs.
    expect(new TokenVerifier(SECRET, "refresh").verify(mintAccessToken(SECRET, crypto.randomUUID(), 600))).toBeNull();
  });

  test("are accepted by the running stack for a user that was never registered", async () => {
    const { gatewayUrl } = await testStack();
    const body = { name: "minted-token product", price: 100, stock: 1 };
    expect((await call(gatewayUrl, "POST", "/products", { body, token: mintAccessToken(TEST_JWT_SECRET, crypto.randomUUID(), 600) })).status).toBe(201);
    expect((await call(gatewayUrl, "POST", "/products", { body, token: mintAccessToken("not-the-stack-key-0123456789abcdef", crypto.randomUUID(), 600) })).status).toBe(401);
  });
});

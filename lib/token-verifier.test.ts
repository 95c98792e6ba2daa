/**
 * The hot-path verifier must say yes and no exactly where the library (@elysiajs/jwt on
 * jose, HS256 pinned) does, on real tokens and on forged ones.
 */
import { describe, expect, test } from "bun:test";
import { jwt } from "@elysiajs/jwt";
import { Elysia } from "elysia";
import { createHmac } from "node:crypto";
import { LIBRARY_VERIFY_OPTIONS, TokenVerifier } from "./token-verifier.ts";

const SECRET = "unit-test-secret-0123456789abcdef";
const library = new Elysia().use(jwt({ name: "jwt", secret: SECRET, alg: "HS256" })).decorator.jwt;
const otherKey = new Elysia().use(jwt({ name: "jwt", secret: "another-secret-0123456789abcdef", alg: "HS256" })).decorator.jwt;
const hs512 = new Elysia().use(jwt({ name: "jwt", secret: SECRET, alg: "HS512" })).decorator.jwt;

const now = () => Math.floor(Date.now() / 1000);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const sign = (header: unknown, payload: object, secret = SECRET) => {
  const input = `${b64(header)}.${b64({ iat: now(), ...payload })}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
};
// The library adds `iat` itself; hand-signed tokens get theirs in `sign`.
const claims = (extra: Record<string, string | number> = {}) => ({ sub: "0b7a0d3e-8f0a-4b8e-9a0e-2f1e5c3d4b5a", type: "access", exp: now() + 3600, ...extra });

/** The library's verdict with the options and checks auth uses: HS256 only, exp and sub required, type "access". */
async function libraryAccepts(token: string): Promise<boolean> {
  const payload = await library.verify(token, LIBRARY_VERIFY_OPTIONS);
  return payload !== false && payload.type === "access" && typeof payload.sub === "string";
}

describe("TokenVerifier agrees with @elysiajs/jwt", async () => {
  const valid = await library.sign(claims());
  const cases: [string, string | Promise<string>, boolean][] = [
    ["a token the library signed", valid, true],
    ["a hand-signed HS256 token", sign({ alg: "HS256", typ: "JWT" }, claims()), true],
    ["alg none, no signature", `${b64({ alg: "none", typ: "JWT" })}.${b64(claims())}.`, false],
    ["alg none with the real signature", `${b64({ alg: "none" })}.${valid.split(".")[1]}.${valid.split(".")[2]}`, false],
    ["signed with another key", otherKey.sign(claims()), false],
    ["HS512 with the same key", hs512.sign(claims()), false],
    ["expired", library.sign(claims({ exp: now() - 10 })), false],
    ["not yet valid (nbf in the future)", library.sign(claims({ nbf: now() + 600 })), false],
    ["payload tampered after signing", `${valid.split(".")[0]}.${b64(claims({ sub: "someone-else" }))}.${valid.split(".")[2]}`, false],
    ["signature tampered", valid.slice(0, -2) + (valid.endsWith("AA") ? "BB" : "AA"), false],
    ["a refresh token", library.sign(claims({ type: "refresh" })), false],
    ["no type", sign({ alg: "HS256" }, { sub: "x", exp: now() + 60 }), false],
    ["no exp", sign({ alg: "HS256" }, { sub: "x", type: "access" }), false],
    ["crit header", sign({ alg: "HS256", crit: ["exp"] }, claims()), false],
    ["garbage", "not.a.token", false],
    ["two segments", valid.split(".").slice(0, 2).join("."), false],
    ["four segments", `${valid}.x`, false],
    ["empty string", "", false],
    ["header not JSON", `${Buffer.from("{").toString("base64url")}.${valid.split(".")[1]}.${valid.split(".")[2]}`, false],
  ];
  for (const [name, tokenOrPromise, expected] of cases) {
    test(name, async () => {
      const token = await tokenOrPromise;
      const fast = new TokenVerifier(SECRET).verify(token) !== null;
      expect(fast).toBe(expected);
      expect(await libraryAccepts(token)).toBe(expected);
    });
  }
});

describe("TokenVerifier's own rule on the subject", () => {
  // The library takes any string; the gateway writes the subject into X-User-ID.
  test.each([
    ["a line break and a header of its own", "u1\r\nx-user-id: someone-else"],
    ["a NUL", "u1\u0000"],
    ["a space", "u 1"],
    ["non-ASCII", "사용자"],
    ["over 255 characters", "u".repeat(256)],
    ["empty", ""],
  ])("%s: refused", async (_, sub) => {
    const token = await library.sign(claims({ sub }));
    expect(new TokenVerifier(SECRET).verify(token)).toBeNull();
  });

  test("a UUID, and any visible ASCII up to 255 characters: accepted", async () => {
    for (const sub of [crypto.randomUUID(), "user-42_x.y@z", "u".repeat(255)]) expect(new TokenVerifier(SECRET).verify(await library.sign(claims({ sub }))), sub).not.toBeNull();
  });
});

describe("TokenVerifier cache", () => {
  test("a cached token is refused once it expires", async () => {
    const token = await library.sign(claims({ exp: now() + 5 }));
    const v = new TokenVerifier(SECRET);
    expect(v.verify(token, now())?.sub).toBe(claims().sub);
    expect(v.verify(token, now() + 10)).toBeNull();
  });

  test("the cache stays within its size", async () => {
    const v = new TokenVerifier(SECRET, "access", 3);
    const tokens = await Promise.all([1, 2, 3, 4, 5].map((i) => library.sign(claims({ jti: String(i) }))));
    for (const t of tokens) expect(v.verify(t)).not.toBeNull();
    const cache = (v as unknown as { cache: Map<string, unknown> }).cache;
    expect([...cache.keys()]).toEqual(tokens.slice(2));
    // Verified again, the oldest goes: the ring keeps evicting in insertion order.
    expect(v.verify(tokens[0]!)).not.toBeNull();
    expect([...cache.keys()]).toEqual([...tokens.slice(3), tokens[0]]);
  });
});

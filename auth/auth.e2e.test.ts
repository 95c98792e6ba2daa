/** Auth through the gateway, end to end, and the token rules checked by auth itself. */
import { beforeAll, describe, expect, test } from "bun:test";
import { jwt } from "@elysiajs/jwt";
import { Elysia } from "elysia";
import postgres from "postgres";
import { call, expectError, registerAndLogin, uniqueEmail } from "../dev/testing/http.ts";
import { TEST_JWT_SECRET, STACK_START_TIMEOUT_MS, testStack } from "../dev/testing/test-stack.ts";
import { useEndToEndTimeouts } from "../dev/testing/timeouts.ts";

useEndToEndTimeouts();

let gw = "";
let authDirect = "";
let sql: postgres.Sql;
beforeAll(async () => {
  const stack = await testStack();
  gw = stack.gatewayUrl;
  authDirect = stack.authUrl;
  sql = postgres(stack.databaseUrl, { max: 2, onnotice: () => {} });
}, STACK_START_TIMEOUT_MS);

const decode = (token: string) => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
const signer = (secret: string, alg: "HS256" | "HS512" = "HS256") => new Elysia().use(jwt({ name: "jwt", secret, alg })).decorator.jwt;

describe("register", () => {
  test("201 with the public user; the password is stored only as an argon2id hash", async () => {
    const email = uniqueEmail("Reg");
    const res = await call(gw, "POST", "/auth/register", { body: { email, password: "long enough", name: "Ann" } });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(["created_at", "email", "id", "name"]);
    expect(res.body.email).toBe(email.toLowerCase());
    expect(Date.parse(res.body.created_at)).not.toBeNaN();
    const [row] = await sql`select password_hash from auth.users where id = ${res.body.id}`;
    expect(row!.password_hash).toStartWith("$argon2id$");
    expect(row!.password_hash).not.toContain("long enough");
  });

  test("409 EMAIL_EXISTS for the same email in another case", async () => {
    const email = uniqueEmail("dup");
    expect((await call(gw, "POST", "/auth/register", { body: { email, password: "password1", name: "Ann" } })).status).toBe(201);
    expectError(await call(gw, "POST", "/auth/register", { body: { email: email.toUpperCase(), password: "password1", name: "Ann" } }), 409, "EMAIL_EXISTS");
  });

  test("concurrent registrations of one email: exactly one 201", async () => {
    const email = uniqueEmail("race");
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => call(gw, "POST", "/auth/register", { body: { email: i % 2 ? email : email.toUpperCase(), password: "password1", name: "Racer" } })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, ...Array(9).fill(409)]);
    const [count] = await sql`select count(*)::int as n from auth.users where email = ${email.toLowerCase()}`;
    expect(count!.n).toBe(1);
  });

  const invalid: [string, unknown, string][] = [
    ["an email that is not one", { email: "not-an-email", password: "password1", name: "Ann" }, "email"],
    ["a short password", { email: uniqueEmail(), password: "short", name: "Ann" }, "password"],
    ["a one-letter name", { email: uniqueEmail(), password: "password1", name: "A" }, "name"],
    ["a 51-letter name", { email: uniqueEmail(), password: "password1", name: "x".repeat(51) }, "name"],
    ["a missing name", { email: uniqueEmail(), password: "password1" }, "name"],
    ["a number for a password", { email: uniqueEmail(), password: 12345678, name: "Ann" }, "password"],
  ];
  for (const [what, body, field] of invalid)
    test(`422 for ${what}, naming the field`, async () => {
      const res = await call(gw, "POST", "/auth/register", { body });
      expectError(res, 422, "VALIDATION_ERROR");
      expect(res.body.details.field).toBe(field);
    });

  test("422 for malformed JSON, and nothing is written", async () => {
    const res = await call(gw, "POST", "/auth/register", { raw: '{"email": "x@example.com", ' });
    expectError(res, 422, "VALIDATION_ERROR");
    const [count] = await sql`select count(*)::int as n from auth.users where email = 'x@example.com'`;
    expect(count!.n).toBe(0);
  });
});

describe("login and tokens", () => {
  test("200 with an access and a refresh token of the contract's shape", async () => {
    const user = await registerAndLogin(gw, "login");
    const res = await call(gw, "POST", "/auth/login", { body: { email: user.email.toUpperCase(), password: user.password } });
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe("Bearer");
    expect(res.body.expires_in).toBe(3600);
    const access = decode(res.body.access_token);
    const refresh = decode(res.body.refresh_token);
    expect(access).toMatchObject({ sub: user.id, type: "access" });
    expect(access.exp - access.iat).toBe(3600);
    expect(refresh).toMatchObject({ sub: user.id, type: "refresh" });
    expect(refresh.exp - refresh.iat).toBeGreaterThan(24 * 3600);
  });

  test("a wrong password and an unknown email get the same 401", async () => {
    const user = await registerAndLogin(gw, "wrong");
    const wrong = await call(gw, "POST", "/auth/login", { body: { email: user.email, password: "not the password" } });
    const unknown = await call(gw, "POST", "/auth/login", { body: { email: uniqueEmail("nobody"), password: "whatever1" } });
    expectError(wrong, 401, "INVALID_CREDENTIALS");
    expect(unknown.body).toEqual(wrong.body);
  });

  test("refresh gives a new working pair", async () => {
    const user = await registerAndLogin(gw, "refresh");
    const res = await call(gw, "POST", "/auth/refresh", { body: { refresh_token: user.refresh } });
    expect(res.status).toBe(200);
    const me = await call(gw, "GET", "/auth/users/me", { token: res.body.access_token });
    expect(me.body.id).toBe(user.id);
  });

  test("refresh refuses an access token and garbage", async () => {
    const user = await registerAndLogin(gw, "refresh-access");
    expectError(await call(gw, "POST", "/auth/refresh", { body: { refresh_token: user.access } }), 401, "INVALID_TOKEN");
    expectError(await call(gw, "POST", "/auth/refresh", { body: { refresh_token: "garbage" } }), 401, "INVALID_TOKEN");
  });

  test("a refresh token is not an access token", async () => {
    const user = await registerAndLogin(gw, "refresh-as-access");
    expectError(await call(gw, "GET", "/auth/users/me", { token: user.refresh }), 401, "INVALID_TOKEN");
    expectError(await call(authDirect, "GET", "/auth/verify", { token: user.refresh }), 401, "INVALID_TOKEN");
  });

  test("verify and me", async () => {
    const user = await registerAndLogin(gw, "me");
    expect((await call(gw, "GET", "/auth/verify", { token: user.access })).body).toEqual({ valid: true, user_id: user.id });
    const me = await call(gw, "GET", "/auth/users/me", { token: user.access });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: user.id, email: user.email });
    expectError(await call(gw, "GET", "/auth/verify"), 401, "UNAUTHORIZED");
    expectError(await call(gw, "GET", "/auth/users/me"), 401, "UNAUTHORIZED");
  });
});

describe("forged tokens are refused by auth itself, not only by the gateway", async () => {
  const user = { sub: "0b7a0d3e-8f0a-4b8e-9a0e-2f1e5c3d4b5a", type: "access" };
  const now = Math.floor(Date.now() / 1000);
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const forged: [string, () => Promise<string>][] = [
    ["alg none", async () => `${b64({ alg: "none" })}.${b64({ ...user, exp: now + 600 })}.`],
    ["another key", () => signer("some-other-key-that-is-long-enough").sign({ ...user, exp: now + 600 })],
    ["HS512", () => signer(TEST_JWT_SECRET, "HS512").sign({ ...user, exp: now + 600 })],
    ["expired", () => signer(TEST_JWT_SECRET).sign({ ...user, exp: now - 5 })],
    ["not yet valid", () => signer(TEST_JWT_SECRET).sign({ ...user, exp: now + 600, nbf: now + 300 })],
    ["tampered", async () => {
      const t = await signer(TEST_JWT_SECRET).sign({ ...user, exp: now + 600 });
      const [h, , s] = t.split(".");
      return `${h}.${b64({ ...user, sub: "someone-else", exp: now + 600 })}.${s}`;
    }],
  ];
  for (const [name, make] of forged) {
    test(`${name}: 401 INVALID_TOKEN at auth and at the gateway`, async () => {
      const token = await make();
      expectError(await call(authDirect, "GET", "/auth/verify", { token }), 401, "INVALID_TOKEN");
      expectError(await call(gw, "GET", "/auth/verify", { token }), 401, "INVALID_TOKEN");
    });
  }
});

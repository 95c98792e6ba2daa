/** The auth service's HTTP app: register, login, refresh, verify, me. */
import { jwt } from "@elysiajs/jwt";
import { bearerToken } from "../lib/bearer.ts";
import { ApiError } from "../lib/errors.ts";
import { createServiceApp, type ServiceRuntime } from "../lib/service-app.ts";
import { serviceDocs } from "../lib/service-docs.ts";
import { LIBRARY_VERIFY_OPTIONS } from "../lib/token-verifier.ts";
import type { Accounts } from "./accounts.ts";
import { LoginBody, RefreshBody, RegisterBody, TokenPairSchema, UserSchema } from "./model.ts";
import { isUuid } from "../lib/uuid.ts";
import { publicUser, type Users } from "./users.ts";

export interface AuthAppDeps {
  accounts: Accounts;
  users: Users;
  runtime: ServiceRuntime;
  jwtSecret: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  databaseAnswers: () => Promise<boolean>;
}

const invalidToken = (why: string) => new ApiError("INVALID_TOKEN", why);

export function buildAuthApp(d: AuthAppDeps) {
  return createServiceApp({
    ...d.runtime,
    service: "auth-service",
    prefix: "/auth",
    readiness: async () => {
      const database = await d.databaseAnswers();
      return { ready: database, checks: { database } };
    },
  })
    .use(serviceDocs({ prefix: "/auth", title: "Auth service", tags: [{ name: "auth", description: "Users and tokens" }] }))
    .use(jwt({ name: "jwt", secret: d.jwtSecret, alg: "HS256" }))
    .derive(({ jwt }) => {
      const issuePair = async (userId: string) => {
        const now = Math.floor(Date.now() / 1000);
        const [access_token, refresh_token] = await Promise.all([
          jwt.sign({ sub: userId, type: "access", jti: crypto.randomUUID(), exp: now + d.accessTtlSeconds }),
          jwt.sign({ sub: userId, type: "refresh", jti: crypto.randomUUID(), exp: now + d.refreshTtlSeconds }),
        ]);
        return { access_token, refresh_token, token_type: "Bearer" as const, expires_in: d.accessTtlSeconds };
      };
      /** The subject of a valid token of `type`; throws INVALID_TOKEN otherwise. */
      const subjectOf = async (token: string, type: "access" | "refresh") => {
        const claims = await jwt.verify(token, LIBRARY_VERIFY_OPTIONS);
        if (!claims) throw invalidToken("The token is malformed, expired or not signed by us");
        if (claims.type !== type) throw invalidToken(`Expected a ${type} token`);
        if (typeof claims.sub !== "string" || !isUuid(claims.sub)) throw invalidToken("The token has no valid subject");
        return claims.sub;
      };
      return { issuePair, subjectOf };
    })
    .post(
      "/auth/register",
      async ({ body, status }) => {
        const user = await d.accounts.register(body.email, body.password, body.name);
        if (!user) throw new ApiError("EMAIL_EXISTS", "An account with this email already exists", { field: "email" });
        return status(201, publicUser(user));
      },
      {
        body: RegisterBody,
        detail: { summary: "Register a user", tags: ["auth"] },
        response: { 201: UserSchema },
      },
    )
    .post(
      "/auth/login",
      async ({ body, request, server, issuePair }) => {
        const client = request.headers.get("x-forwarded-for")?.split(",").pop()?.trim() || server?.requestIP(request)?.address || "unknown";
        return issuePair(await d.accounts.login(body.email, body.password, client));
      },
      {
        body: LoginBody,
        detail: { summary: "Log in: an access and a refresh token", tags: ["auth"] },
        response: { 200: TokenPairSchema },
      },
    )
    .post(
      "/auth/refresh",
      async ({ body, subjectOf, issuePair }) => {
        const userId = await subjectOf(body.refresh_token, "refresh");
        if (!(await d.users.findById(userId))) throw invalidToken("The token's user no longer exists");
        return issuePair(userId);
      },
      {
        body: RefreshBody,
        detail: { summary: "Trade a refresh token for a new pair", tags: ["auth"] },
        response: { 200: TokenPairSchema },
      },
    )
    .get(
      "/auth/verify",
      async ({ request, subjectOf }) => {
        const token = bearerToken(request.headers.get("authorization"));
        if (token === null) throw new ApiError("UNAUTHORIZED", "A bearer token is required");
        return { valid: true, user_id: await subjectOf(token, "access") };
      },
      { detail: { summary: "Check an access token", tags: ["auth"], security: [{ bearer: [] }] } },
    )
    .get(
      "/auth/users/me",
      async ({ request, subjectOf }) => {
        // The gateway has verified the token and says whose it is; a direct caller shows a token.
        let userId = request.headers.get("x-user-id");
        if (userId === null) {
          const token = bearerToken(request.headers.get("authorization"));
          if (token === null) throw new ApiError("UNAUTHORIZED", "A bearer token is required");
          userId = await subjectOf(token, "access");
        }
        const user = await d.users.findById(userId);
        if (!user) throw invalidToken("The token's user does not exist");
        return publicUser(user);
      },
      { detail: { summary: "The caller's own user", tags: ["auth"], security: [{ bearer: [] }] }, response: { 200: UserSchema } },
    );
}

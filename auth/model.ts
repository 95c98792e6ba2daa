/** The auth service's request and answer schemas (TypeBox): what Elysia validates and what its OpenAPI document shows. */
import { t } from "elysia";

const Email = t.String({ format: "email", maxLength: 254, description: "compared case-insensitively" });

export const UserSchema = t.Object({ id: t.String({ format: "uuid" }), email: t.String(), name: t.String(), created_at: t.String({ format: "date-time" }) });

export const TokenPairSchema = t.Object({
  access_token: t.String(),
  refresh_token: t.String(),
  token_type: t.Literal("Bearer"),
  expires_in: t.Integer(),
});

export const RegisterBody = t.Object({
  email: Email,
  password: t.String({ minLength: 8, maxLength: 1024 }),
  name: t.String({ minLength: 2, maxLength: 50 }),
});

export const LoginBody = t.Object({ email: t.String({ maxLength: 254 }), password: t.String({ maxLength: 1024 }) });

export const RefreshBody = t.Object({ refresh_token: t.String({ maxLength: 4096 }) });

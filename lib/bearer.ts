/** The token of an `Authorization: Bearer <token>` header, or null when there is none. */
export function bearerToken(authorization: string | null): string | null {
  if (authorization === null || authorization.length < 8) return null;
  // The scheme is case-insensitive (RFC 9110); the common spelling is checked first.
  if (!authorization.startsWith("Bearer ") && authorization.slice(0, 7).toLowerCase() !== "bearer ") return null;
  const token = authorization.slice(7).trim();
  return token === "" ? null : token;
}

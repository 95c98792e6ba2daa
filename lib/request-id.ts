/** `X-Request-ID`: the caller's if it is sane (short, safe characters), else a fresh one. */
const SANE = /^[A-Za-z0-9._:\-]{1,128}$/;

export const isSaneRequestId = (v: string | null): v is string => v !== null && SANE.test(v);

export const requestIdOf = (headers: Headers): string => {
  const given = headers.get("x-request-id");
  return isSaneRequestId(given) ? given : crypto.randomUUID();
};

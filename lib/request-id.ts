/** `X-Request-ID`: the caller's if it is sane (short, safe characters), else a fresh one. */
const SANE = /^[A-Za-z0-9._:\-]{1,128}$/;

export const isSaneRequestId = (v: string | null): v is string => v !== null && SANE.test(v);

/** The request id for a request that came with `given` (its X-Request-ID, if any). */
export const requestIdFrom = (given: string | null): string => (isSaneRequestId(given) ? given : crypto.randomUUID());

export const requestIdOf = (headers: Headers): string => requestIdFrom(headers.get("x-request-id"));

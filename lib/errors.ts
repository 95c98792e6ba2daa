/** The contract's error shape: `{"error": CODE, "message": ..., "details"?: {...}}`. */

export type ErrorCode =
  | "UNAUTHORIZED"
  | "INVALID_TOKEN"
  | "INVALID_CREDENTIALS"
  | "NOT_FOUND"
  | "EMAIL_EXISTS"
  | "INSUFFICIENT_STOCK"
  | "PAYLOAD_TOO_LARGE"
  | "VALIDATION_ERROR"
  | "RATE_LIMITED"
  | "BAD_GATEWAY"
  | "UNAVAILABLE"
  | "GATEWAY_TIMEOUT"
  | "INTERNAL_ERROR";

const STATUS: Record<ErrorCode, number> = {
  UNAUTHORIZED: 401,
  INVALID_TOKEN: 401,
  INVALID_CREDENTIALS: 401,
  NOT_FOUND: 404,
  EMAIL_EXISTS: 409,
  INSUFFICIENT_STOCK: 400,
  PAYLOAD_TOO_LARGE: 413,
  VALIDATION_ERROR: 422,
  RATE_LIMITED: 429,
  BAD_GATEWAY: 502,
  UNAVAILABLE: 503,
  GATEWAY_TIMEOUT: 504,
  INTERNAL_ERROR: 500,
};

/** An error a handler throws on purpose; the app turns it into the contract's response. */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.status = STATUS[code];
  }
}

export const validationError = (field: string, message: string) =>
  new ApiError("VALIDATION_ERROR", message, { field });

export const notFound = (what = "resource") => new ApiError("NOT_FOUND", `No such ${what}`);

export function errorResponse(
  code: ErrorCode,
  message: string,
  details?: Record<string, unknown>,
  headers?: Record<string, string>,
): Response {
  const body = details ? { error: code, message, details } : { error: code, message };
  return new Response(JSON.stringify(body), {
    status: STATUS[code],
    headers: { "content-type": "application/json", ...headers },
  });
}

export const apiErrorResponse = (e: ApiError) => errorResponse(e.code, e.message, e.details, e.headers);

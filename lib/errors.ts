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
  | "INVALID_DEAL"
  | "DEAL_NOT_ACTIVE"
  | "PURCHASE_LIMIT_EXCEEDED"
  | "CANNOT_CANCEL"
  | "PRODUCT_NOT_FOUND"
  | "DEAL_NOT_FOUND"
  | "IDEMPOTENCY_KEY_REUSED"
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
  INVALID_DEAL: 400,
  DEAL_NOT_ACTIVE: 400,
  PURCHASE_LIMIT_EXCEEDED: 400,
  CANNOT_CANCEL: 400,
  PRODUCT_NOT_FOUND: 404,
  DEAL_NOT_FOUND: 404,
  IDEMPOTENCY_KEY_REUSED: 422,
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

/** The contract's error body of an ApiError, for answers that are stored before they are sent. */
export const apiErrorBody = (e: ApiError) => (e.details ? { error: e.code, message: e.message, details: e.details } : { error: e.code, message: e.message });

export const apiErrorResponse = (e: ApiError) => errorResponse(e.code, e.message, e.details, e.headers);

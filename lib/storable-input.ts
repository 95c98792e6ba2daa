/**
 * What a request may carry that no service can take, found in its parsed body and query
 * before any route reads them: a string with a NUL character or an unpaired surrogate
 * (PostgreSQL's text refuses the first, and the second cannot be encoded as UTF-8), and
 * nesting deeper than any body of the contract. Without this, a NUL fails the statement it
 * reaches (a 500, or a 503 for every order of the batch it shares), and Elysia's own
 * validation error pretty-prints the whole value it refused, which for a body nested
 * thousands deep holds the service's one thread for seconds.
 */

/** Deeper than any body of the contract, far below what would cost a service its thread. */
export const MAX_NESTING = 32;

export interface InputProblem {
  /** The field, dotted as in validation errors: `shipping_address.phone`, `items.0.product_id`. */
  field: string;
  message: string;
}

/** The first thing in `value` that cannot be taken, or null; `root` names it in the answer. */
export function unstorableInput(value: unknown, root: string): InputProblem | null {
  const path: (string | number)[] = [];
  const kind = find(value, path, 0);
  if (kind === null) return null;
  const field = path.length === 0 ? root : path.join(".");
  return {
    field,
    message: kind === "deep" ? `${field} is nested deeper than ${MAX_NESTING} levels` : `${field} must not contain NUL characters or unpaired surrogates`,
  };
}

/** Walks `value`; on a problem, `path` holds the way to it (built only then, not per node). */
function find(value: unknown, path: (string | number)[], depth: number): "text" | "deep" | null {
  if (typeof value === "string") return badText(value) ? "text" : null;
  if (value === null || typeof value !== "object") return null;
  if (depth >= MAX_NESTING) return "deep";
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const kind = find(value[i], path, depth + 1);
      if (kind !== null) return path.unshift(i), kind;
    }
    return null;
  }
  for (const key in value) {
    if (badText(key)) return path.unshift(key), "text";
    const kind = find((value as Record<string, unknown>)[key], path, depth + 1);
    if (kind !== null) return path.unshift(key), kind;
  }
  return null;
}

const badText = (s: string) => s.includes("\u0000") || !s.isWellFormed();

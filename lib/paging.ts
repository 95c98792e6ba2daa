/**
 * `page` and `size` as query strings. Declared as patterns rather than coerced numbers so
 * a bad value is reported with its field name, and the OpenAPI document shows the rule; the
 * `error` says the rule in words, since a client cannot be expected to read the pattern.
 */
import { t } from "elysia";

/** Seven digits: any page a list of PostgreSQL integers can have, without overflowing the offset. */
const PAGE_MAX = 9_999_999;
export const SIZE_MAX = 100;
const DEFAULT_SIZE = 20;

export const PageQuery = {
  page: t.Optional(
    t.String({ pattern: "^[1-9][0-9]{0,6}$", description: "page number, 1 or more (default 1)", error: `page must be an integer from 1 to ${PAGE_MAX}` }),
  ),
  size: t.Optional(
    t.String({
      pattern: "^([1-9]|[1-9][0-9]|100)$",
      description: `items per page, 1 to ${SIZE_MAX} (default ${DEFAULT_SIZE})`,
      error: `size must be an integer from 1 to ${SIZE_MAX}`,
    }),
  ),
};

export const paging = (q: { page?: string; size?: string }) => ({
  page: q.page === undefined ? 1 : Number(q.page),
  size: q.size === undefined ? DEFAULT_SIZE : Number(q.size),
});

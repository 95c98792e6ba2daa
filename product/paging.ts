/**
 * `page` and `size` as query strings. Declared as patterns rather than coerced numbers so
 * a bad value is reported with its field name, and the OpenAPI document shows the rule.
 */
import { t } from "elysia";

export const PageQuery = {
  page: t.Optional(t.String({ pattern: "^[1-9][0-9]{0,6}$", description: "page number, 1 or more (default 1)" })),
  size: t.Optional(t.String({ pattern: "^([1-9]|[1-9][0-9]|100)$", description: "items per page, 1 to 100 (default 20)" })),
};

export const paging = (q: { page?: string; size?: string }) => ({
  page: q.page === undefined ? 1 : Number(q.page),
  size: q.size === undefined ? 20 : Number(q.size),
});

/**
 * The product service's request schemas (TypeBox): what Elysia validates and what its OpenAPI
 * document shows. A schema's `error` is the sentence a client gets when its value does not fit,
 * in words rather than the pattern it failed.
 */
import { Type, type IntegerOptions } from "@sinclair/typebox";
import { t } from "elysia";
import { PageQuery } from "../lib/paging.ts";

/** PostgreSQL's `integer`: the largest price, stock or delta a column holds. */
export const INT32_MAX = 2_147_483_647;

/** Elysia's `t.Integer` also takes "12" (it is made for query strings); a JSON body must carry a number. */
const JsonInteger = (o: IntegerOptions) => Type.Integer(o);

const Id = t.String({ description: "a UUID; anything else is 404" });
export const IdParams = t.Object({ id: Id });

const Timestamp = t.String({ format: "date-time", description: "ISO 8601 with a zone" });

const ProductFields = {
  name: t.String({ minLength: 1, maxLength: 200 }),
  description: t.Optional(t.Nullable(t.String({ maxLength: 5000 }))),
  price: JsonInteger({ minimum: 0, maximum: INT32_MAX }),
  category: t.Optional(t.Nullable(t.String({ maxLength: 50 }))),
  image_url: t.Optional(t.Nullable(t.String({ format: "uri", maxLength: 2048 }))),
};

export const NewProductBody = t.Object({ ...ProductFields, stock: JsonInteger({ minimum: 0, maximum: INT32_MAX }) });

/** Any subset of the create fields but `stock`, which only changes through `/stock`. */
export const ProductChangesBody = t.Partial(t.Object(ProductFields));

export const StockChangeBody = t.Object({ delta: JsonInteger({ minimum: -INT32_MAX, maximum: INT32_MAX }) });

export const NewDealBody = t.Object({
  product_id: t.String(),
  deal_price: JsonInteger({ minimum: 0, maximum: INT32_MAX }),
  deal_stock: JsonInteger({ minimum: 1, maximum: INT32_MAX }),
  starts_at: Timestamp,
  ends_at: Timestamp,
  max_per_user: t.Optional(t.Nullable(JsonInteger({ minimum: 1, maximum: INT32_MAX, description: "most units one user may hold; absent or null: no limit" }))),
});

const CATEGORY_MAX_LENGTH = 50;

export const DealsQuery = t.Object(PageQuery);

export const ProductsQuery = t.Object({
  ...PageQuery,
  category: t.Optional(t.String({ maxLength: CATEGORY_MAX_LENGTH, error: `category must be at most ${CATEGORY_MAX_LENGTH} characters` })),
});

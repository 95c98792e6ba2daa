/** The request shapes of the order routes, as Elysia validates them (and the OpenAPI document shows them). */
import { Type, type IntegerOptions } from "@sinclair/typebox";
import { ParseError, t } from "elysia";
import { validationError } from "../lib/errors.ts";
import { PageQuery } from "../lib/paging.ts";
import { ORDER_STATUSES } from "./model.ts";

/** Elysia's `t.Integer` also takes "12" (it is made for query strings); a JSON body must carry a number. */
const JsonInteger = (o: IntegerOptions) => Type.Integer(o);

export const ItemSchema = t.Object({
  product_id: t.String({ maxLength: 64, description: "a product's UUID; anything else is 404 PRODUCT_NOT_FOUND" }),
  deal_id: t.Optional(t.Nullable(t.String({ maxLength: 64, description: "buy through this deal (its price, its stock)" }))),
  quantity: JsonInteger({ minimum: 1, maximum: 10 }),
});

export const ShippingAddressSchema = t.Object({
  recipient_name: t.String({ minLength: 1, maxLength: 50 }),
  phone: t.String({ pattern: "^01[0-9]-?[0-9]{3,4}-?[0-9]{4}$" }),
  address: t.String({ minLength: 1, maxLength: 200 }),
  address_detail: t.Optional(t.Nullable(t.String({ maxLength: 100 }), { error: "address_detail must be at most 100 characters, or null" })),
  postal_code: t.String({ pattern: "^[0-9]{5}$" }),
});

/** `shipping_address: null` is taken as absent (see `absentIfNull`), so a bad field is reported by its own name. */
export const PlaceOrderBody = t.Object({
  items: t.Array(ItemSchema, { minItems: 1, maxItems: 10 }),
  shipping_address: t.Optional(ShippingAddressSchema),
});

/**
 * Declared nullable, the address would be validated as "an object or null", and a bad phone
 * number reported as a bad `shipping_address`; a null is dropped before validation instead.
 */
export function absentIfNull({ body }: { body: unknown }): void {
  const b = body as { shipping_address?: unknown } | null;
  if (typeof b === "object" && b !== null && b.shipping_address === null) delete b.shipping_address;
}

export const CancelBody = t.Optional(t.Object({ reason: t.Optional(t.Nullable(t.String({ maxLength: 500 }))) }));

/**
 * A cancel's body may be left out, but one that is sent must be a JSON object (or null).
 * Elysia reads an optional body that does not parse as no body, and turns an array, a string
 * or a number into an empty object: the order would be cancelled on a request the contract
 * refuses.
 */
export async function parseCancelBody({ request }: { request: Request }): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === "") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    // Answered as every service answers a body that does not parse (lib/service-app.ts).
    throw new ParseError(e as Error);
  }
  if (value !== null && (typeof value !== "object" || Array.isArray(value))) throw validationError("body", "The body must be a JSON object");
  return value ?? undefined;
}

export const ListQuery = t.Object({
  ...PageQuery,
  status: t.Optional(t.Union(ORDER_STATUSES.map((s) => t.Literal(s)), { error: `status must be one of ${ORDER_STATUSES.join(", ")}` })),
});

export const IdParams = t.Object({ id: t.String({ description: "an order's UUID; anything else is 404" }) });

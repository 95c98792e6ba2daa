/**
 * A POST /orders as the queue takes it: the caller, the items with their ids checked, the
 * address, and the Idempotency-Key with the request's fingerprint. Shared by the app's route
 * and the fast path the gateway's channel takes (fast-placing.ts), so both read an order alike.
 */
import type { Static } from "@sinclair/typebox";
import { ApiError, validationError } from "../lib/errors.ts";
import { isUuid } from "../lib/uuid.ts";
import { fingerprint, IDEMPOTENCY_KEY } from "./idempotency.ts";
import type { PlacementRequest, RequestedItem, ShippingAddress } from "./model.ts";
import type { PlaceOrderBody } from "./schemas.ts";

/** Throws the ApiError the request is refused with: a bad key (422), an id that is not a UUID (404). */
export function placementRequestOf(userId: string, key: string | null, body: Static<typeof PlaceOrderBody>): PlacementRequest {
  if (key !== null && !IDEMPOTENCY_KEY.test(key)) throw validationError("Idempotency-Key", "Idempotency-Key must be 1 to 128 characters of A-Z a-z 0-9 . _ : -");
  const items: RequestedItem[] = body.items.map((i) => {
    if (!isUuid(i.product_id)) throw new ApiError("PRODUCT_NOT_FOUND", "No such product", { product_id: i.product_id });
    const dealId = i.deal_id ?? null;
    if (dealId !== null && !isUuid(dealId)) throw new ApiError("DEAL_NOT_FOUND", "No such deal", { deal_id: dealId });
    // Lower case, as PostgreSQL returns ids: the locked rows are looked up by them.
    return { product_id: i.product_id.toLowerCase(), deal_id: dealId?.toLowerCase() ?? null, quantity: i.quantity };
  });
  const a = body.shipping_address ?? null;
  const shippingAddress: ShippingAddress | null = a && {
    recipient_name: a.recipient_name,
    phone: a.phone,
    address: a.address,
    address_detail: a.address_detail ?? null,
    postal_code: a.postal_code,
  };
  return {
    userId,
    items,
    shippingAddress,
    idempotency: key === null ? null : { key, fingerprint: fingerprint(items, shippingAddress) },
    receivedAt: new Date(),
  };
}

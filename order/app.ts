/** The order service's HTTP app: placing, listing, reading and cancelling the caller's orders. */
import { ApiError, notFound, validationError } from "../lib/errors.ts";
import { bearerToken } from "../lib/bearer.ts";
import { paging } from "../lib/paging.ts";
import { createServiceApp, type ServiceRuntime } from "../lib/service-app.ts";
import { serviceDocs } from "../lib/service-docs.ts";
import type { TokenVerifier } from "../lib/token-verifier.ts";
import { fingerprint, IDEMPOTENCY_KEY } from "./idempotency.ts";
import { orderJson, type RequestedItem, type ShippingAddress } from "./model.ts";
import type { OrderStore } from "./order-store.ts";
import type { Placing } from "./placing.ts";
import { absentIfNull, CancelBody, IdParams, ListQuery, parseCancelBody, PlaceOrderBody } from "./schemas.ts";

export interface OrderAppDeps {
  store: OrderStore;
  placing: Placing;
  /** Checks the token of a caller that did not come through the gateway. */
  verifier: TokenVerifier;
  runtime: ServiceRuntime;
  databaseAnswers: () => Promise<boolean>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const secured = { security: [{ bearer: [] }], tags: ["orders"] };

export function buildOrderApp(d: OrderAppDeps) {
  /** The caller: the gateway has verified the token and says whose it is; a direct caller shows a token. */
  const callerOf = (request: Request): string => {
    const forwarded = request.headers.get("x-user-id");
    if (forwarded !== null && forwarded !== "") return forwarded;
    const token = bearerToken(request.headers.get("authorization"));
    if (token === null) throw new ApiError("UNAUTHORIZED", "A bearer token is required");
    const verified = d.verifier.verify(token);
    if (verified === null) throw new ApiError("INVALID_TOKEN", "The token is not valid");
    return verified.sub;
  };

  return createServiceApp({
    ...d.runtime,
    service: "order-service",
    prefix: "/orders",
    readiness: async () => {
      const database = await d.databaseAnswers();
      return { ready: database, checks: { database } };
    },
  })
    .use(serviceDocs({ prefix: "/orders", title: "Order service", tags: [{ name: "orders", description: "Buying: placing, listing and cancelling the caller's orders" }] }))
    .post(
      "/orders",
      async ({ body, request, set }) => {
        const userId = callerOf(request);
        const key = request.headers.get("idempotency-key");
        if (key !== null && !IDEMPOTENCY_KEY.test(key))
          throw validationError("Idempotency-Key", "Idempotency-Key must be 1 to 128 characters of A-Z a-z 0-9 . _ : -");
        const items: RequestedItem[] = body.items.map((i) => {
          if (!UUID.test(i.product_id)) throw new ApiError("PRODUCT_NOT_FOUND", "No such product", { product_id: i.product_id });
          const dealId = i.deal_id ?? null;
          if (dealId !== null && !UUID.test(dealId)) throw new ApiError("DEAL_NOT_FOUND", "No such deal", { deal_id: dealId });
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
        const answer = await d.placing.place({
          userId,
          items,
          shippingAddress,
          idempotency: key === null ? null : { key, fingerprint: fingerprint(items, shippingAddress) },
          receivedAt: new Date(),
        });
        set.status = answer.status;
        return answer.body;
      },
      { body: PlaceOrderBody, transform: absentIfNull, detail: { ...secured, summary: "Place an order (201 only once it is committed)" } },
    )
    .get(
      "/orders",
      async ({ query, request }) => {
        const userId = callerOf(request);
        const { page, size } = paging(query);
        const { items, total } = await d.store.list(userId, page, size, query.status);
        return { items: items.map(orderJson), total, page, size };
      },
      { query: ListQuery, detail: { ...secured, summary: "The caller's orders, newest first" } },
    )
    .get(
      "/orders/:id",
      async ({ params, request }) => {
        const userId = callerOf(request);
        if (!UUID.test(params.id)) throw notFound("order");
        const order = await d.store.get(userId, params.id.toLowerCase());
        if (!order) throw notFound("order");
        return orderJson(order);
      },
      { params: IdParams, detail: { ...secured, summary: "One of the caller's orders (another user's is 404)" } },
    )
    .post(
      "/orders/:id/cancel",
      async ({ params, body, request }) => {
        const userId = callerOf(request);
        if (!UUID.test(params.id)) throw notFound("order");
        const result = await d.store.cancel(userId, params.id.toLowerCase(), body?.reason ?? null);
        if (!result.ok) throw result.error;
        d.placing.givenBack(result.order.items.flatMap((i) => (i.deal_id === null ? [] : [i.deal_id])));
        return orderJson(result.order);
      },
      { params: IdParams, body: CancelBody, parse: parseCancelBody, detail: { ...secured, summary: "Cancel an order; its stock is given back in the same transaction" } },
    );
}

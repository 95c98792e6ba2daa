/** The order service's HTTP app: placing, listing, reading and cancelling the caller's orders. */
import { ApiError, notFound } from "../lib/errors.ts";
import { bearerToken } from "../lib/bearer.ts";
import { paging } from "../lib/paging.ts";
import { createServiceApp, type ServiceRuntime } from "../lib/service-app.ts";
import { serviceDocs } from "../lib/service-docs.ts";
import { isUuid } from "../lib/uuid.ts";
import type { TokenVerifier } from "../lib/token-verifier.ts";
import { orderJson } from "./model.ts";
import type { OrderStore } from "./order-store.ts";
import { placementRequestOf } from "./placement-request.ts";
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
        const answer = await d.placing.place(placementRequestOf(callerOf(request), request.headers.get("idempotency-key"), body));
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
        if (!isUuid(params.id)) throw notFound("order");
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
        if (!isUuid(params.id)) throw notFound("order");
        const result = await d.store.cancel(userId, params.id.toLowerCase(), body?.reason ?? null);
        if (!result.ok) throw result.error;
        d.placing.givenBack(result.order.items.flatMap((i) => (i.deal_id === null ? [] : [i.deal_id])));
        return orderJson(result.order);
      },
      { params: IdParams, body: CancelBody, parse: parseCancelBody, detail: { ...secured, summary: "Cancel an order; its stock is given back in the same transaction" } },
    );
}

/**
 * POST /orders as it comes over the gateway's channel, answered without the app's request
 * pipeline: the Request and Response objects and the hooks around them cost a refused order
 * more than the rest of its way through the service. Only a request the app would take as it
 * is gets this path (JSON of the order's schema, storable, from the gateway with a caller);
 * anything else, and anything the app would refuse, returns null and goes through the app, so
 * every refusal and error is still the app's own. What the app does around a request (the
 * request id, its metric, span and slow-request line) is done here with the same functions.
 */
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { ApiError } from "../lib/errors.ts";
import type { FastPath, MuxAnswer } from "../lib/mux-server.ts";
import { requestIdFrom } from "../lib/request-id.ts";
import { observeRequest, type ServiceRuntime } from "../lib/service-app.ts";
import { unstorableInput } from "../lib/storable-input.ts";
import type { Answer } from "./model.ts";
import { placementRequestOf } from "./placement-request.ts";
import type { Placing } from "./placing.ts";
import { absentIfNull, PlaceOrderBody } from "./schemas.ts";

const ROUTE = "/orders";
/** What Elysia sends with a JSON body a handler returns. */
const JSON_TYPE = "application/json;charset=utf-8";

export function fastPlacing(d: { placing: Placing; runtime: ServiceRuntime }): FastPath {
  const body = TypeCompiler.Compile(PlaceOrderBody);
  return (r) => {
    if (r.method !== "POST" || r.target !== ROUTE || r.header("content-type") !== "application/json") return null;
    const userId = r.header("x-user-id");
    if (userId === null || userId === "" || r.body.length > d.runtime.bodyLimit) return null;
    const startedAt = performance.now();
    let value: unknown;
    try {
      value = JSON.parse(r.body.toString("utf8"));
    } catch {
      return null;
    }
    if (unstorableInput(value, "body") !== null) return null;
    absentIfNull({ body: value });
    if (!body.Check(value)) return null;
    let request;
    try {
      request = placementRequestOf(userId, r.header("idempotency-key"), value);
    } catch (e) {
      if (e instanceof ApiError) return null;
      throw e;
    }
    const requestId = requestIdFrom(r.header("x-request-id"));
    return d.placing.place(request).then((answer: Answer): MuxAnswer => {
      observeRequest(d.runtime, { route: ROUTE, method: "POST", status: answer.status, startedAt, requestId, traceparent: r.header("traceparent") });
      return { status: answer.status, headers: [["content-type", JSON_TYPE], ["x-request-id", requestId]], body: JSON.stringify(answer.body) };
    });
  };
}

/** Orders as the service holds them, and their JSON shape in the contract. */
import { apiErrorBody, type ApiError } from "../lib/errors.ts";

export type OrderStatus = "pending" | "confirmed" | "shipped" | "delivered" | "cancelled";
export const ORDER_STATUSES: readonly OrderStatus[] = ["pending", "confirmed", "shipped", "delivered", "cancelled"];

/** Only an order that has not left the warehouse can be cancelled. */
export const CANCELLABLE: ReadonlySet<OrderStatus> = new Set(["pending", "confirmed"]);

export interface ShippingAddress {
  recipient_name: string;
  phone: string;
  address: string;
  address_detail: string | null;
  postal_code: string;
}

export interface OrderItem {
  id: string;
  product_id: string;
  deal_id: string | null;
  product_name: string;
  quantity: number;
  unit_price: number;
  subtotal: number;
}

export interface Order {
  id: string;
  user_id: string;
  items: OrderItem[];
  total_amount: number;
  status: OrderStatus;
  shipping_address: ShippingAddress | null;
  cancelled_at: Date | null;
  cancel_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

export const orderJson = (o: Order) => ({
  id: o.id,
  user_id: o.user_id,
  items: o.items.map((i) => ({
    id: i.id,
    product_id: i.product_id,
    deal_id: i.deal_id,
    product_name: i.product_name,
    quantity: i.quantity,
    unit_price: i.unit_price,
    subtotal: i.subtotal,
  })),
  total_amount: o.total_amount,
  status: o.status,
  shipping_address: o.shipping_address,
  cancelled_at: o.cancelled_at?.toISOString() ?? null,
  cancel_reason: o.cancel_reason,
  created_at: o.created_at.toISOString(),
  updated_at: o.updated_at.toISOString(),
});

export type OrderJson = ReturnType<typeof orderJson>;

/** An item as the client asked for it (validated, ids checked to be UUIDs). */
export interface RequestedItem {
  product_id: string;
  deal_id: string | null;
  quantity: number;
}

/** What a placement request carries into the queue. */
export interface PlacementRequest {
  userId: string;
  items: RequestedItem[];
  shippingAddress: ShippingAddress | null;
  /** The Idempotency-Key and the fingerprint of the request it came with. */
  idempotency: { key: string; fingerprint: string } | null;
  /** When it arrived: the order's created_at. */
  receivedAt: Date;
}

/** The answer an order request gets: a status and a JSON body (stored for idempotent replays). */
export interface Answer {
  status: number;
  body: unknown;
}

/** An error as the answer a request gets (and a keyed one stores). */
export const answerOf = (e: ApiError): Answer => ({ status: e.status, body: apiErrorBody(e) });

/**
 * `Idempotency-Key` on this instance: the key's rule, the fingerprint of the request it came
 * with, and the requests still in flight, so a retry that arrives before the first answer
 * waits for that answer instead of racing it. Across instances and crashes the database row
 * (orders.idempotency_keys, claimed in the order's own transaction) is what decides.
 */
import { ApiError } from "../lib/errors.ts";
import { answerOf, type Answer, type RequestedItem, type ShippingAddress } from "./model.ts";

export const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,128}$/;

/** The answer to a key used before with another request, whether this instance or the database knows it. */
export const keyReused = (): Answer => answerOf(new ApiError("IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used with a different request"));

/** The same order asked for twice has the same fingerprint, whatever the JSON's key order. */
export function fingerprint(items: RequestedItem[], address: ShippingAddress | null): string {
  const canonical = JSON.stringify([
    items.map((i) => [i.product_id, i.deal_id, i.quantity]),
    address && [address.recipient_name, address.phone, address.address, address.address_detail, address.postal_code],
  ]);
  return new Bun.CryptoHasher("sha256").update(canonical).digest("base64url");
}

export class InFlightKeys {
  private readonly pending = new Map<string, { fingerprint: string; answer: Promise<Answer> }>();

  /** The request in flight with this user's key, if any. */
  get(userId: string, key: string) {
    return this.pending.get(userId + "\u0000" + key);
  }

  /** Holds `answer` for retries until it settles; by then the database has the key. */
  hold(userId: string, key: string, fingerprint: string, answer: Promise<Answer>): void {
    const id = userId + "\u0000" + key;
    this.pending.set(id, { fingerprint, answer });
    void answer.finally(() => this.pending.delete(id));
  }
}

/** A deal's status on the clock, to the millisecond, and the JSON shapes of the contract. */
import { describe, expect, test } from "bun:test";
import { dealStatus } from "../lib/deal-status.ts";
import { dealJson, isLive, productJson, type DealRow, type ProductRow } from "./rows.ts";

const START = Date.parse("2030-05-01T10:00:00.000Z");
const END = Date.parse("2030-05-01T12:00:00.000Z");

const product: ProductRow = {
  id: "0b7a0d3e-8f0a-4b8e-9a0e-2f1e5c3d4b5a",
  name: "Kettle",
  description: null,
  price: 2500,
  stock: 12,
  category: "kitchen",
  image_url: "https://example.com/k.png",
  created_at: new Date("2030-01-01T00:00:00.000Z"),
  updated_at: new Date("2030-01-02T03:04:05.678Z"),
};

const deal = (over: Partial<DealRow> = {}): DealRow => ({
  id: "5f0c6b1e-3c2a-4d7e-9b1a-0e2d4c6f8a10",
  product_id: product.id,
  deal_price: 1999,
  deal_stock: 10,
  remaining_stock: 4,
  starts_at: new Date(START),
  ends_at: new Date(END),
  max_per_user: null,
  created_at: new Date("2030-04-30T00:00:00.000Z"),
  product,
  ...over,
});

describe("dealStatus", () => {
  test.each([
    ["1 ms before the start", START - 1, "scheduled"],
    ["at the start", START, "active"],
    ["between", START + 60_000, "active"],
    ["at the end (ends_at is inclusive)", END, "active"],
    ["1 ms after the end", END + 1, "ended"],
  ])("%s: %s", (_, now, expected) => {
    expect(dealStatus(deal(), now as number)).toBe(expected as ReturnType<typeof dealStatus>);
    expect(isLive(deal(), now as number)).toBe(expected === "active");
  });

  test("sold out wins over the clock: before, during and after", () => {
    for (const now of [START - 1, START, END, END + 1]) {
      expect(dealStatus(deal({ remaining_stock: 0 }), now)).toBe("sold_out");
      expect(isLive(deal({ remaining_stock: 0 }), now)).toBe(false);
    }
  });

  test("one unit left is still active", () => {
    expect(dealStatus(deal({ remaining_stock: 1 }), START)).toBe("active");
  });
});

describe("JSON shapes", () => {
  test("a product has exactly the contract's fields, times as ISO 8601 in UTC", () => {
    expect(productJson(product)).toEqual({
      id: product.id,
      name: "Kettle",
      description: null,
      price: 2500,
      stock: 12,
      category: "kitchen",
      image_url: "https://example.com/k.png",
      created_at: "2030-01-01T00:00:00.000Z",
      updated_at: "2030-01-02T03:04:05.678Z",
    });
  });

  test("a deal nests its product, takes original_price from it and computes status at the given time", () => {
    const json = dealJson(deal(), START + 1);
    expect(Object.keys(json).sort()).toEqual(
      ["created_at", "deal_price", "deal_stock", "ends_at", "id", "max_per_user", "original_price", "product", "product_id", "remaining_stock", "starts_at", "status"].sort(),
    );
    expect(json).toMatchObject({
      product_id: product.id,
      deal_price: 1999,
      original_price: 2500,
      deal_stock: 10,
      remaining_stock: 4,
      starts_at: "2030-05-01T10:00:00.000Z",
      ends_at: "2030-05-01T12:00:00.000Z",
      status: "active",
      max_per_user: null,
      created_at: "2030-04-30T00:00:00.000Z",
    });
    expect(json.product).toEqual(productJson(product));
    expect(dealJson(deal(), START - 1).status).toBe("scheduled");
    expect(dealJson(deal(), END + 1).status).toBe("ended");
    expect(dealJson(deal({ product: { ...product, price: 3100 } }), START).original_price).toBe(3100);
    expect(dealJson(deal({ max_per_user: 2 }), START).max_per_user).toBe(2);
  });

  test("the JSON survives a round trip through JSON.stringify unchanged (no Dates, no undefined)", () => {
    const json = dealJson(deal(), START);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});

/** `page` and `size` as the query strings a client sends: the bounds of the contract, exactly. */
import { describe, expect, test } from "bun:test";
import { Value } from "@sinclair/typebox/value";
import { t } from "elysia";
import { paging, PageQuery } from "./paging.ts";

const schema = t.Object(PageQuery);
const fits = (q: Record<string, string>) => Value.Check(schema, q);

describe("PageQuery", () => {
  test.each(["1", "2", "10", "999", "9999999"])("page=%s is accepted", (page) => {
    expect(fits({ page })).toBe(true);
  });

  test.each(["0", "-1", "01", "1.5", "1e3", "+1", " 1", "1 ", "", "abc", "0x10", "10000000"])("page=%j is refused", (page) => {
    expect(fits({ page })).toBe(false);
  });

  test.each(["1", "9", "10", "20", "99", "100"])("size=%s is accepted", (size) => {
    expect(fits({ size })).toBe(true);
  });

  test.each(["0", "101", "1000", "-5", "050", "1.0", "", " 20", "20 ", "twenty"])("size=%j is refused", (size) => {
    expect(fits({ size })).toBe(false);
  });

  test("both are optional", () => {
    expect(fits({})).toBe(true);
  });
});

describe("paging", () => {
  test("defaults: page 1, size 20", () => {
    expect(paging({})).toEqual({ page: 1, size: 20 });
  });

  test("given values become numbers", () => {
    expect(paging({ page: "7", size: "100" })).toEqual({ page: 7, size: 100 });
    expect(paging({ page: "9999999" })).toEqual({ page: 9_999_999, size: 20 });
  });
});

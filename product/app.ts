/** The product service's HTTP app: products, stock, deals. */
import { Type, type IntegerOptions } from "@sinclair/typebox";
import { t } from "elysia";
import { ApiError, notFound, validationError } from "../lib/errors.ts";
import { isDatabaseUnavailable } from "../lib/db.ts";
import { createServiceApp, type ServiceRuntime } from "../lib/service-app.ts";
import type { Catalog } from "./catalog.ts";
import { dealJson, productJson } from "./model.ts";
import { paging, PageQuery } from "./paging.ts";
import type { CatalogSnapshot, RenderedPage } from "./snapshot.ts";

export interface ProductAppDeps {
  catalog: Catalog;
  snapshot: CatalogSnapshot;
  runtime: ServiceRuntime;
  databaseAnswers: () => Promise<boolean>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INT32 = 2_147_483_647;
const ZONED = /(Z|[+-]\d\d:?\d\d)$/i;

/** Elysia's `t.Integer` also takes "12" (it is made for query strings); a JSON body must carry a number. */
const JsonInteger = (o: IntegerOptions) => Type.Integer(o);

const Id = t.String({ description: "a UUID; anything else is 404" });
const ProductFields = {
  name: t.String({ minLength: 1, maxLength: 200 }),
  description: t.Optional(t.Nullable(t.String({ maxLength: 5000 }))),
  price: JsonInteger({ minimum: 0, maximum: INT32 }),
  category: t.Optional(t.Nullable(t.String({ maxLength: 50 }))),
  image_url: t.Optional(t.Nullable(t.String({ format: "uri", maxLength: 2048 }))),
};
const Timestamp = t.String({ format: "date-time", description: "ISO 8601 with a zone" });

function instant(field: string, value: string): Date {
  const ms = Date.parse(value);
  if (!ZONED.test(value) || Number.isNaN(ms)) throw validationError(field, `${field} must be an ISO 8601 time with a zone`);
  return new Date(ms);
}

const jsonPage = (page: RenderedPage, ifNoneMatch: string | null, ageMs: number) => {
  const headers = {
    "content-type": "application/json",
    etag: page.etag,
    "cache-control": "no-cache",
    "x-snapshot-age": String(Math.floor(ageMs / 1000)),
  };
  if (ifNoneMatch !== null && ifNoneMatch.includes(page.etag)) return new Response(null, { status: 304, headers });
  return new Response(page.body, { headers });
};

export function buildProductApp(d: ProductAppDeps) {
  const { catalog, snapshot } = d;

  /** A read by id from the database, or from the snapshot while the database is down. */
  async function readThrough<T>(fromDb: () => Promise<T | null>, fromMemory: () => T | undefined, set: { headers: Record<string, string | number> }): Promise<T | null> {
    try {
      return await fromDb();
    } catch (e) {
      if (!isDatabaseUnavailable(e)) throw e;
      const cached = fromMemory();
      if (cached === undefined) throw e;
      set.headers["x-snapshot-age"] = String(Math.floor(snapshot.age() / 1000));
      return cached;
    }
  }

  return createServiceApp({
    ...d.runtime,
    service: "product-service",
    prefix: "/products",
    // Without the database the deal list is still served from the snapshot, so the
    // instance stays in rotation as long as it has one.
    readiness: async () => {
      const database = await d.databaseAnswers();
      return { ready: snapshot.ready, checks: { database, snapshot: snapshot.ready, snapshot_age_ms: snapshot.age() } };
    },
  })
    .get(
      "/products/deals",
      ({ query, request }) => {
        const { page, size } = paging(query);
        const rendered = snapshot.dealsPage(page, size);
        if (!rendered) throw new ApiError("UNAVAILABLE", "The deal list is not loaded yet");
        return jsonPage(rendered, request.headers.get("if-none-match"), snapshot.age());
      },
      { query: t.Object(PageQuery), detail: { summary: "The deals live now, newest start first (the hot endpoint)", tags: ["deals"] } },
    )
    .get(
      "/products/deals/:id",
      async ({ params, set }) => {
        if (!UUID.test(params.id)) throw notFound("deal");
        const deal = await readThrough(() => catalog.deal(params.id), () => snapshot.deal(params.id), set);
        if (!deal) throw notFound("deal");
        return dealJson(deal, Date.now());
      },
      { params: t.Object({ id: Id }), detail: { summary: "One deal", tags: ["deals"] } },
    )
    .post(
      "/products/deals",
      async ({ body, status }) => {
        if (!UUID.test(body.product_id)) throw notFound("product");
        const starts = instant("starts_at", body.starts_at);
        const ends = instant("ends_at", body.ends_at);
        if (ends <= starts) throw validationError("ends_at", "ends_at must be after starts_at");
        const deal = await catalog.createDeal({ ...body, starts_at: starts, ends_at: ends });
        if (!deal) throw notFound("product");
        return status(201, dealJson(deal, Date.now()));
      },
      {
        body: t.Object({
          product_id: t.String(),
          deal_price: JsonInteger({ minimum: 0, maximum: INT32 }),
          deal_stock: JsonInteger({ minimum: 1, maximum: INT32 }),
          starts_at: Timestamp,
          ends_at: Timestamp,
          max_per_user: t.Optional(t.Nullable(JsonInteger({ minimum: 1, maximum: INT32, description: "most units one user may hold; absent or null: no limit" }))),
        }),
        detail: { summary: "Create a deal", tags: ["deals"], security: [{ bearer: [] }] },
      },
    )
    .get(
      "/products",
      async ({ query, request }) => {
        const { page, size } = paging(query);
        const rendered = snapshot.productsPage(page, size, query.category);
        if (rendered) return jsonPage(rendered, request.headers.get("if-none-match"), snapshot.age());
        const { items, total } = await catalog.productsPage(page, size, query.category);
        return { items: items.map(productJson), total, page, size };
      },
      { query: t.Object({ ...PageQuery, category: t.Optional(t.String({ maxLength: 50 })) }), detail: { summary: "Products, newest first", tags: ["products"] } },
    )
    .post(
      "/products",
      async ({ body, status }) => {
        const product = await catalog.createProduct(body);
        return status(201, productJson(product));
      },
      {
        body: t.Object({ ...ProductFields, stock: JsonInteger({ minimum: 0, maximum: INT32 }) }),
        detail: { summary: "Create a product", tags: ["products"], security: [{ bearer: [] }] },
      },
    )
    .get(
      "/products/:id",
      async ({ params, set }) => {
        if (!UUID.test(params.id)) throw notFound("product");
        const product = await readThrough(() => catalog.product(params.id), () => snapshot.product(params.id), set);
        if (!product) throw notFound("product");
        return productJson(product);
      },
      { params: t.Object({ id: Id }), detail: { summary: "One product", tags: ["products"] } },
    )
    .patch(
      "/products/:id",
      async ({ params, body }) => {
        if (!UUID.test(params.id)) throw notFound("product");
        if ("stock" in (body as object)) throw validationError("stock", "stock changes go through PATCH /products/{id}/stock");
        const product = await catalog.updateProduct(params.id, body);
        if (!product) throw notFound("product");
        return productJson(product);
      },
      {
        params: t.Object({ id: Id }),
        body: t.Partial(t.Object(ProductFields)),
        detail: { summary: "Change a product (not its stock)", tags: ["products"], security: [{ bearer: [] }] },
      },
    )
    .get(
      "/products/:id/stock",
      async ({ params, set }) => {
        if (!UUID.test(params.id)) throw notFound("product");
        const product = await readThrough(() => catalog.product(params.id), () => snapshot.product(params.id), set);
        if (!product) throw notFound("product");
        return { product_id: product.id, stock: product.stock, updated_at: product.updated_at.toISOString() };
      },
      { params: t.Object({ id: Id }), detail: { summary: "A product's stock", tags: ["products"] } },
    )
    .patch(
      "/products/:id/stock",
      async ({ params, body }) => {
        if (!UUID.test(params.id)) throw notFound("product");
        const result = await catalog.changeStock(params.id, body.delta);
        if (!result.ok) {
          if (result.reason === "not_found") throw notFound("product");
          if (result.reason === "insufficient") throw new ApiError("INSUFFICIENT_STOCK", "Stock cannot go below zero", { delta: body.delta });
          throw validationError("delta", `stock cannot exceed ${INT32}`);
        }
        return { product_id: result.product_id, stock: result.stock, updated_at: result.updated_at.toISOString() };
      },
      {
        params: t.Object({ id: Id }),
        body: t.Object({ delta: JsonInteger({ minimum: -INT32, maximum: INT32 }) }),
        detail: { summary: "Change stock by a delta, atomically, never below zero", tags: ["products"], security: [{ bearer: [] }] },
      },
    );
}

/** The product service's HTTP app: products, stock, deals. */
import { ApiError, notFound, validationError } from "../lib/errors.ts";
import { isDatabaseUnavailable } from "../lib/database-unavailable.ts";
import { createServiceApp, type ServiceRuntime } from "../lib/service-app.ts";
import { serviceDocs } from "../lib/service-docs.ts";
import { isUuid } from "../lib/uuid.ts";
import type { Catalog } from "./catalog.ts";
import { dealJson, productJson } from "./rows.ts";
import { DealsQuery, IdParams, INT32_MAX, NewDealBody, NewProductBody, ProductChangesBody, ProductsQuery, StockChangeBody } from "./model.ts";
import { paging } from "../lib/paging.ts";
import type { CatalogSnapshot, RenderedPage } from "./snapshot.ts";

export interface ProductAppDeps {
  catalog: Catalog;
  snapshot: CatalogSnapshot;
  runtime: ServiceRuntime;
  databaseAnswers: () => Promise<boolean>;
}

const ZONED = /(Z|[+-]\d\d:?\d\d)$/i;

function instant(field: string, value: string): Date {
  const ms = Date.parse(value);
  if (!ZONED.test(value) || Number.isNaN(ms)) throw validationError(field, `${field} must be an ISO 8601 time with a zone`);
  return new Date(ms);
}

/** `X-Snapshot-Age`: whole seconds since the snapshot an answer from memory was read from. */
const snapshotAge = (ageMs: number) => String(Math.floor(ageMs / 1000));

const jsonPage = (page: RenderedPage, ifNoneMatch: string | null, ageMs: number) => {
  const headers = {
    "content-type": "application/json",
    etag: page.etag,
    "cache-control": "no-cache",
    "x-snapshot-age": snapshotAge(ageMs),
  };
  if (ifNoneMatch !== null && ifNoneMatch.includes(page.etag)) return new Response(null, { status: 304, headers });
  return new Response(page.body, { headers });
};

/**
 * Every write awaits `snapshot.caughtUp()` before its answer: the lists served from memory then
 * show it to any read this instance answers after (the contract's reads after writes).
 */
export function buildProductApp(deps: ProductAppDeps) {
  const { catalog, snapshot } = deps;

  /** A read by id from the database, or from the snapshot while the database is down. */
  async function readThrough<T>(fromDb: () => Promise<T | null>, fromMemory: () => T | undefined, set: { headers: Record<string, string | number> }): Promise<T | null> {
    try {
      return await fromDb();
    } catch (e) {
      if (!isDatabaseUnavailable(e)) throw e;
      const cached = fromMemory();
      if (cached === undefined) throw e;
      set.headers["x-snapshot-age"] = snapshotAge(snapshot.age());
      return cached;
    }
  }

  return createServiceApp({
    ...deps.runtime,
    service: "product-service",
    prefix: "/products",
    // Without the database the deal list is still served from the snapshot, so the
    // instance stays in rotation as long as it has one.
    readiness: async () => {
      const database = await deps.databaseAnswers();
      return { ready: snapshot.ready, checks: { database, snapshot: snapshot.ready, snapshot_age_ms: snapshot.age() } };
    },
  })
    .use(
      serviceDocs({
        prefix: "/products",
        title: "Product service",
        tags: [
          { name: "products", description: "Products and stock" },
          { name: "deals", description: "Flash-sale deals" },
        ],
      }),
    )
    .get(
      "/products/deals",
      ({ query, request }) => {
        const { page, size } = paging(query);
        const rendered = snapshot.dealsPage(page, size);
        if (!rendered) throw new ApiError("UNAVAILABLE", "The deal list is not loaded yet");
        return jsonPage(rendered, request.headers.get("if-none-match"), snapshot.age());
      },
      { query: DealsQuery, detail: { summary: "The deals live now, newest start first (the hot endpoint)", tags: ["deals"] } },
    )
    .get(
      "/products/deals/:id",
      async ({ params, set }) => {
        if (!isUuid(params.id)) throw notFound("deal");
        // A deal the snapshot holds (any that has not ended) is answered from memory, as fresh
        // as the list it is read from during a sale; an ended one from the database.
        const held = snapshot.deal(params.id);
        if (held) set.headers["x-snapshot-age"] = snapshotAge(snapshot.age());
        const deal = held ?? (await catalog.deal(params.id));
        if (!deal) throw notFound("deal");
        return dealJson(deal, Date.now());
      },
      { params: IdParams, detail: { summary: "One deal", tags: ["deals"] } },
    )
    .post(
      "/products/deals",
      async ({ body, status }) => {
        if (!isUuid(body.product_id)) throw notFound("product");
        const starts = instant("starts_at", body.starts_at);
        const ends = instant("ends_at", body.ends_at);
        if (ends <= starts) throw validationError("ends_at", "ends_at must be after starts_at");
        const deal = await catalog.createDeal({ ...body, starts_at: starts, ends_at: ends });
        if (!deal) throw notFound("product");
        await snapshot.caughtUp();
        return status(201, dealJson(deal, Date.now()));
      },
      {
        body: NewDealBody,
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
      { query: ProductsQuery, detail: { summary: "Products, newest first", tags: ["products"] } },
    )
    .post(
      "/products",
      async ({ body, status }) => {
        const product = await catalog.createProduct(body);
        await snapshot.caughtUp();
        return status(201, productJson(product));
      },
      {
        body: NewProductBody,
        detail: { summary: "Create a product", tags: ["products"], security: [{ bearer: [] }] },
      },
    )
    .get(
      "/products/:id",
      async ({ params, set }) => {
        if (!isUuid(params.id)) throw notFound("product");
        const product = await readThrough(() => catalog.product(params.id), () => snapshot.product(params.id), set);
        if (!product) throw notFound("product");
        return productJson(product);
      },
      { params: IdParams, detail: { summary: "One product", tags: ["products"] } },
    )
    .patch(
      "/products/:id",
      async ({ params, body }) => {
        if (!isUuid(params.id)) throw notFound("product");
        const product = await catalog.updateProduct(params.id, body);
        if (!product) throw notFound("product");
        await snapshot.caughtUp();
        return productJson(product);
      },
      {
        params: IdParams,
        // Before validation, which drops fields the schema does not name: a `stock` here would
        // otherwise be ignored with a 200, and the client would believe its stock changed.
        transform: ({ body }) => {
          if (body !== null && typeof body === "object" && "stock" in body)
            throw validationError("stock", "stock changes go through PATCH /products/{id}/stock (with a delta); nothing was changed");
        },
        body: ProductChangesBody,
        detail: { summary: "Change a product (not its stock)", tags: ["products"], security: [{ bearer: [] }] },
      },
    )
    .get(
      "/products/:id/stock",
      async ({ params, set }) => {
        if (!isUuid(params.id)) throw notFound("product");
        const product = await readThrough(() => catalog.product(params.id), () => snapshot.product(params.id), set);
        if (!product) throw notFound("product");
        return { product_id: product.id, stock: product.stock, updated_at: product.updated_at.toISOString() };
      },
      { params: IdParams, detail: { summary: "A product's stock", tags: ["products"] } },
    )
    .patch(
      "/products/:id/stock",
      async ({ params, body }) => {
        if (!isUuid(params.id)) throw notFound("product");
        const result = await catalog.changeStock(params.id, body.delta);
        if (!result.ok) {
          if (result.reason === "not_found") throw notFound("product");
          if (result.reason === "insufficient") throw new ApiError("INSUFFICIENT_STOCK", "Stock cannot go below zero", { delta: body.delta });
          throw validationError("delta", `stock cannot exceed ${INT32_MAX}`);
        }
        await snapshot.caughtUp();
        return { product_id: result.product_id, stock: result.stock, updated_at: result.updated_at.toISOString() };
      },
      {
        params: IdParams,
        body: StockChangeBody,
        detail: { summary: "Change stock by a delta, atomically, never below zero", tags: ["products"], security: [{ bearer: [] }] },
      },
    );
}

/**
 * `/docs` (the page) and `/docs/json` (one OpenAPI 3 document for the whole public API). Each
 * service serves its own document, generated from its own route schemas
 * (`/auth/openapi.json`, `/products/openapi.json`, ...); the gateway fetches them from the
 * instances it proxies to and merges them, at run time, so the gateway carries no service's
 * code and a service rolled out alone is documented as it runs. A service that does not answer
 * is named in the document (`x-missing-services` and the description) instead of failing it.
 * The page's script and style come from the swagger-ui-dist package (pinned in bun.lock) and
 * are embedded in the executable: the docs work offline.
 */
import swaggerUiBundle from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "text" };
import swaggerUiCss from "swagger-ui-dist/swagger-ui.css" with { type: "text" };
import { BEARER_SCHEME } from "../lib/service-docs.ts";

export interface DocsSource {
  /** The service's name, as the document says when it is missing. */
  service: string;
  /** Its instances; the first one that answers is asked. */
  urls: URL[];
  /** Where it serves its document, e.g. `/auth/openapi.json`. */
  path: string;
}

export interface ApiDocsOptions {
  /** A complete document is served this long before the services are asked again. */
  cacheMs?: number;
  /** A document with a service missing is rebuilt this soon, so the service shows up once back. */
  retryMs?: number;
  /** Per service asked. */
  timeoutMs?: number;
}

interface OpenApiDocument {
  openapi?: string;
  tags?: { name: string }[];
  paths?: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, unknown> };
}

const TITLE = "Hot-deal API";
const DESCRIPTION =
  "Every client talks to the gateway (port 8000). Errors are `{error, message, details?}`; protected routes need `Authorization: Bearer <access token>`. The reference in words is docs/API.md in the repository.";

/** The gateway's own public operation; the services' `/health` is each process's, not documented. */
const GATEWAY_PATHS = {
  "/health": { get: { summary: "The gateway is up", tags: ["gateway"], operationId: "getHealth", responses: { 200: { description: "healthy" } } } },
};

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${TITLE}</title>
    <link rel="stylesheet" href="/docs/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js"></script>
    <script src="/docs/init.js"></script>
  </body>
</html>
`;

// validatorUrl: null, or Swagger UI sends the document to a public validator.
const INIT = `window.ui = SwaggerUIBundle({ url: "/docs/json", dom_id: "#swagger-ui", validatorUrl: null, deepLinking: true });\n`;

const ASSETS: Record<string, { body: string; type: string }> = {
  "/docs": { body: PAGE, type: "text/html; charset=utf-8" },
  "/docs/swagger-ui-bundle.js": { body: swaggerUiBundle, type: "text/javascript; charset=utf-8" },
  "/docs/swagger-ui.css": { body: swaggerUiCss, type: "text/css; charset=utf-8" },
  "/docs/init.js": { body: INIT, type: "text/javascript; charset=utf-8" },
};

export class ApiDocs {
  private cached: { json: string; complete: boolean; at: number } | null = null;
  private building: Promise<string> | null = null;
  private readonly cacheMs: number;
  private readonly retryMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly sources: DocsSource[],
    o: ApiDocsOptions = {},
  ) {
    this.cacheMs = o.cacheMs ?? 10_000;
    this.retryMs = o.retryMs ?? 1000;
    this.timeoutMs = o.timeoutMs ?? 2000;
  }

  /** Answers `/docs`, `/docs/json` and the page's assets; 404 for anything else under `/docs`. */
  handle = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    if (path === "/docs/json") return new Response(await this.document(), { headers: { "content-type": "application/json" } });
    const asset = ASSETS[path];
    if (!asset) return Response.json({ error: "NOT_FOUND", message: "No such route" }, { status: 404 });
    return new Response(asset.body, { headers: { "content-type": asset.type, "cache-control": "public, max-age=3600" } });
  };

  /** The merged document, as JSON text. */
  document(now = Date.now()): Promise<string> {
    const cached = this.cached;
    if (cached && now - cached.at < (cached.complete ? this.cacheMs : this.retryMs)) return Promise.resolve(cached.json);
    this.building ??= this.build().finally(() => {
      this.building = null;
    });
    return this.building;
  }

  private async build(): Promise<string> {
    const fetched = await Promise.all(this.sources.map(async (s) => ({ source: s, result: await this.fetchDocument(s) })));
    const missing = fetched.filter((f) => typeof f.result === "string").map((f) => ({ service: f.source.service, reason: f.result as string }));
    const documents = fetched.map((f) => f.result).filter((r): r is OpenApiDocument => typeof r !== "string");
    const merged = merge(documents, missing);
    const json = JSON.stringify(merged);
    this.cached = { json, complete: missing.length === 0, at: Date.now() };
    return json;
  }

  /** The service's document, or why it could not be had. */
  private async fetchDocument(source: DocsSource): Promise<OpenApiDocument | string> {
    let reason = "no instance configured";
    for (const base of source.urls) {
      try {
        const res = await fetch(new URL(source.path, base), { signal: AbortSignal.timeout(this.timeoutMs) });
        if (res.ok) return (await res.json()) as OpenApiDocument;
        reason = `answered ${res.status}`;
      } catch (e) {
        reason = e instanceof Error && e.name === "TimeoutError" ? "did not answer in time" : "unreachable";
      }
    }
    return reason;
  }
}

function merge(documents: OpenApiDocument[], missing: { service: string; reason: string }[]) {
  const paths: Record<string, Record<string, unknown>> = { ...GATEWAY_PATHS };
  const schemas: Record<string, unknown> = {};
  const tags = [{ name: "gateway", description: "The gateway's own" }];
  for (const doc of documents) {
    for (const [path, operations] of Object.entries(doc.paths ?? {})) paths[path] = { ...paths[path], ...operations };
    Object.assign(schemas, doc.components?.schemas);
    for (const tag of doc.tags ?? []) if (!tags.some((t) => t.name === tag.name)) tags.push(tag as (typeof tags)[number]);
  }
  const note = missing.length === 0 ? "" : `\n\n**Not documented now** (the service did not answer the gateway): ${missing.map((m) => `${m.service} (${m.reason})`).join(", ")}.`;
  return {
    openapi: documents[0]?.openapi ?? "3.0.3",
    info: { title: TITLE, version: "1.0.0", description: DESCRIPTION + note },
    tags,
    paths,
    components: { securitySchemes: BEARER_SCHEME, schemas },
    "x-missing-services": missing.map((m) => m.service),
  };
}

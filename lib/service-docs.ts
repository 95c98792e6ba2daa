/**
 * A service's own OpenAPI document, generated from its route schemas and served at
 * `<prefix>/openapi.json`. The gateway fetches each service's and merges them for `/docs`, so
 * no service needs another's code to be documented, and an instance rolled out alone is
 * documented as it is.
 */
import { openapi } from "@elysiajs/openapi";

export interface ServiceDocsOptions {
  /** The contract's path prefix, e.g. "/auth": the document is at `${prefix}/openapi.json`. */
  prefix: string;
  title: string;
  tags: { name: string; description: string }[];
}

const serviceDocsPath = (prefix: string) => `${prefix}/openapi.json`;

export const BEARER_SCHEME = { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } } as const;

export function serviceDocs(o: ServiceDocsOptions) {
  return openapi({
    // The page is the gateway's (`/docs`); a service serves only its document.
    provider: null,
    specPath: serviceDocsPath(o.prefix),
    documentation: {
      info: { title: o.title, version: "1.0.0" },
      tags: o.tags,
      components: { securitySchemes: BEARER_SCHEME },
    },
    // Operational endpoints of each process, not the public API: through the gateway, `/health`
    // is the gateway's own; `<prefix>/health` is documented.
    exclude: { paths: ["/health", "/ready", "/metrics"] },
  });
}

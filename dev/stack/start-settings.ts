/** What `bun start` reads from the environment (each service reads its own as well). */
import { databaseUrl, defineSettings, oneOf, port, text } from "../../lib/config.ts";

export const START_SETTINGS = defineSettings("bun start", {
  mode: oneOf({ env: "STACK_MODE", default: "source", allowed: ["source", "binary"], help: "run the services from the sources or from dist/ (--binary is the same as binary)" }),
  databaseUrl: databaseUrl({ help: "use this database; unset, an embedded PostgreSQL is started" }),
  dataDir: text({ env: "STACK_DATA_DIR", default: ".data/postgres", help: "where the embedded database keeps its data" }),
  databasePort: port({ env: "STACK_DATABASE_PORT", default: 54329, help: "the embedded database's port (127.0.0.1)" }),
  gatewayPort: port({ env: "GATEWAY_PORT", default: 8000, help: "the gateway's port" }),
  authPort: port({ env: "AUTH_PORT", default: 8001, help: "auth's port" }),
  productPort: port({ env: "PRODUCT_PORT", default: 8002, help: "product's port" }),
  orderPort: port({ env: "ORDER_PORT", default: 8003, help: "order's port" }),
  gatewayAdminPort: port({ env: "GATEWAY_ADMIN_PORT", default: 8100, help: "the gateway's admin listener (/metrics) on 127.0.0.1" }),
});

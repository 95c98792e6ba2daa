/**
 * `bun start`: the whole stack on the contract's ports, on an embedded PostgreSQL under
 * `.data/` unless DATABASE_URL is set. `--binary` (or STACK_MODE=binary) runs the compiled
 * executables from `dist/`. Ctrl-C or SIGTERM stops the services, then the database.
 */
import { EnvReader } from "../config.ts";
import { startStack } from "./stack.ts";

const env = new EnvReader();
const binary = process.argv.includes("--binary") || env.oneOf("STACK_MODE", "source", ["source", "binary"] as const) === "binary";
const stack = await startStack({ mode: binary ? "binary" : "source", databaseUrl: env.databaseUrl() }).catch((e: Error) => {
  process.stderr.write(`bun start: ${e.message}\n`);
  process.exit(1);
});
process.stdout.write(`\nhot-deal stack is up: gateway ${stack.gatewayUrl} (auth ${stack.authUrl}, product ${stack.productUrl}, order ${stack.orderUrl}); Ctrl-C stops it\n\n`);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await stack.stop();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

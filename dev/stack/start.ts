/**
 * `bun start`: the whole stack on the contract's ports, on an embedded PostgreSQL under
 * `.data/` unless DATABASE_URL is set. `--binary` (or STACK_MODE=binary) runs the compiled
 * executables from `dist/`. Ctrl-C or SIGTERM stops the services, then the database.
 */
import { resolve } from "node:path";
import type { ConfigError } from "../../lib/config.ts";
import { runningDatabase } from "../embedded-db.ts";
import { VERSION } from "../../lib/version.ts";
import { portIsFree } from "./free-port.ts";
import { startStack } from "./stack.ts";
import { START_SETTINGS } from "./start-settings.ts";

const FLAGS = ["--binary", "--help", "--version"];
const fail = (message: string, code = 1): never => {
  process.stderr.write(`bun start: ${message}\n`);
  process.exit(code);
};

const args = process.argv.slice(2);
const unknown = args.find((a) => !FLAGS.includes(a));
if (unknown !== undefined) fail(`unknown option ${JSON.stringify(unknown)}; options: ${FLAGS.join(", ")}`, 2);
if (args.includes("--help")) {
  console.log(`bun start [--binary]: the whole stack on this machine\n\n${START_SETTINGS.help()}\n\nEach service also reads its own settings from the environment (dist/<service> --help).`);
  process.exit(0);
}
if (args.includes("--version")) {
  console.log(VERSION);
  process.exit(0);
}

const settings = (() => {
  try {
    return START_SETTINGS.read();
  } catch (e) {
    return fail((e as ConfigError).message);
  }
})();
const dataDir = resolve(settings.dataDir);
const running = settings.databaseUrl ? null : runningDatabase(dataDir);
if (running)
  fail(`a stack is already running on this data directory: ${running.dir} (postgres pid ${running.pid}${running.port ? ` on port ${running.port}` : ""}${running.owner ? `, started by pid ${running.owner}` : ""}); stop it first, or give this one STACK_DATA_DIR and ports of its own`);
const ports = { GATEWAY_PORT: settings.gatewayPort, AUTH_PORT: settings.authPort, PRODUCT_PORT: settings.productPort, ORDER_PORT: settings.orderPort, GATEWAY_ADMIN_PORT: settings.gatewayAdminPort, ...(settings.databaseUrl ? {} : { STACK_DATABASE_PORT: settings.databasePort }) };
for (const [variable, port] of Object.entries(ports))
  if (!portIsFree(port)) fail(`port ${port} (${variable}) is already in use: another stack, or another program (\`ss -ltnp 'sport = :${port}'\` shows which); stop it or set ${variable}`);
const stack = await startStack({
  mode: args.includes("--binary") || settings.mode === "binary" ? "binary" : "source",
  databaseUrl: settings.databaseUrl,
  dataDir,
  databasePort: settings.databasePort,
  ports: { gateway: settings.gatewayPort, auth: settings.authPort, product: settings.productPort, order: settings.orderPort },
  gatewayAdminPort: settings.gatewayAdminPort,
}).catch((e: unknown) => fail(e instanceof Error ? e.message : `could not start: ${String(e)}`));
process.stdout.write(`\nhot-deal stack is up: gateway ${stack.gatewayUrl} (auth ${stack.authUrl}, product ${stack.productUrl}, order ${stack.orderUrl}; metrics ${stack.gatewayAdminUrl}/metrics); Ctrl-C stops it\n\n`);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await stack.stop();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

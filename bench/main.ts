/**
 * `bun bench [options]`: the flash-sale spike scripts. See `bun bench --help`.
 */
import { parseArgs } from "node:util";
import { VERSION } from "../lib/version.ts";
import { toMarkdown } from "./report/markdown.ts";
import { reportDir } from "./report/report-dir.ts";
import { runBench } from "./run.ts";
import { SCENARIO_NAMES } from "./scenarios.ts";

const HELP = `bun bench [options]

Starts the stack from the compiled executables (building them when they are missing or
older than the sources) on its own embedded PostgreSQL, seeds users, products and 20 live
deals, runs the scenarios and writes latest.json, latest.md and latest.svg. Order scenarios
make fresh deals for each run, mint their users' tokens with the stack's key, check the
database's stock after each run (the bench fails when it does not add up), and order-spike
runs once more on a second stack with ORDER_BATCHING=off.

  --quick                  the same scenarios, shorter (about a minute): for CI and a first look
  --runs N                 run every scenario N times and report medians (default 1)
  --only a,b               only these scenarios: ${SCENARIO_NAMES.join(", ")}
  --url URL                drive a running gateway instead (seeds data through it)
  --product-url URL        with --url: the product service behind it, for max-direct
  --jwt-secret KEY         with --url: the system's JWT_SECRET (order scenarios need it)
  --database-url URL       with --url: the system's PostgreSQL, for the stock check
  --source                 run the services from the sources, not the executables
  --gateway-workers N      gateway processes on one port (GATEWAY_WORKERS, default 1)
  --loadgen-processes N    load generator processes (default 2)
  --no-nginx               skip the nginx comparison even when nginx is installed
  --pgbouncer              the services reach PostgreSQL through PgBouncer in transaction mode
  --out DIR                where the report goes (default bench/results for a full run, which
                           the README quotes; bench/results/quick for --quick, so a quick run
                           never replaces the committed full report)
  --version                the version
  --help                   this text

Load only ever goes to the URLs above; every scenario stops by itself.`;

function fail(message: string): never {
  process.stderr.write(`bun bench: ${message}\n`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      runs: { type: "string", default: "1" },
      only: { type: "string" },
      url: { type: "string" },
      "product-url": { type: "string" },
      "jwt-secret": { type: "string" },
      "database-url": { type: "string" },
      source: { type: "boolean", default: false },
      "gateway-workers": { type: "string" },
      "loadgen-processes": { type: "string", default: "2" },
      "no-nginx": { type: "boolean", default: false },
      pgbouncer: { type: "boolean", default: false },
      out: { type: "string" },
      help: { type: "boolean", default: false },
      version: { type: "boolean", default: false },
    },
  }).values;
} catch (e) {
  fail(`${(e as Error).message}\n\n${HELP}`);
}
if (args.help) {
  console.log(HELP);
  process.exit(0);
}
if (args.version) {
  console.log(VERSION);
  process.exit(0);
}

const positiveInt = (name: string, value: string | undefined, max: number): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) fail(`--${name} must be a whole number from 1 to ${max}, got ${JSON.stringify(value)}`);
  return n;
};
const loopbackUrl = (name: string, value: string | undefined): string | undefined => {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(`--${name} is not a URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== "http:") fail(`--${name} must be an http:// URL (the generator speaks plain HTTP/1.1)`);
  if (!["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) fail(`--${name} must point at this machine (127.0.0.1): load tests never leave it`);
  return url.origin;
};

const url = loopbackUrl("url", args.url);
const productUrl = loopbackUrl("product-url", args["product-url"]);
if (productUrl && !url) fail("--product-url goes with --url");
if ((args["jwt-secret"] || args["database-url"]) && !url) fail("--jwt-secret and --database-url go with --url (the bench knows its own stack's)");
const only = args.only?.split(",").map((s) => s.trim()).filter(Boolean);
const unknown = only?.filter((name) => !SCENARIO_NAMES.includes(name)) ?? [];
if (unknown.length) fail(`no scenario named ${unknown.join(", ")}; there are ${SCENARIO_NAMES.join(", ")}`);

const scale = args.quick ? "quick" : "full";
const out = reportDir(scale, args.out);
try {
  const report = await runBench({
    scale,
    runs: positiveInt("runs", args.runs, 20)!,
    out,
    url,
    productUrl,
    jwtSecret: args["jwt-secret"],
    databaseUrl: args["database-url"],
    mode: args.source ? "source" : "binary",
    loadgenProcesses: positiveInt("loadgen-processes", args["loadgen-processes"], 64)!,
    gatewayWorkers: positiveInt("gateway-workers", args["gateway-workers"], 64),
    nginx: !args["no-nginx"],
    pgbouncer: args.pgbouncer,
    only,
    progress: true,
  });
  console.log("\n" + toMarkdown(report));
  console.log(`written: ${out}/latest.{json,md,svg}`);
} catch (e) {
  fail((e as Error).message);
}

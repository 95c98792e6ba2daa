/**
 * `bun run build`: one standalone executable per service in dist/ (no Bun, node_modules or
 * sources needed beside it). Minified with bytecode for a fast start, with a source map so
 * stack traces in logs point at the TypeScript.
 */
import { resolve } from "node:path";
import { SERVICES } from "./stack/stack.ts";

const root = resolve(import.meta.dir, "..");
if (process.argv.length > 2) {
  process.stderr.write(`build: no options are taken (got ${JSON.stringify(process.argv[2])}); BUILD_TARGET=bun-linux-x64-musl picks another target\n`);
  process.exit(2);
}
const target = process.env.BUILD_TARGET; // e.g. bun-linux-x64-musl for an Alpine image

for (const service of SERVICES) {
  const started = performance.now();
  const outfile = resolve(root, "dist", service);
  const args = ["build", "--compile", "--minify", "--sourcemap", "--bytecode", "--format=esm", resolve(root, service, "main.ts"), "--outfile", outfile];
  if (target) args.push(`--target=${target}`);
  const result = Bun.spawnSync([process.execPath, ...args], { cwd: root, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) {
    process.stderr.write(result.stderr.toString() + result.stdout.toString());
    process.stderr.write(`build: ${service} failed\n`);
    process.exit(1);
  }
  const mb = (Bun.file(outfile).size / 1024 / 1024).toFixed(1);
  console.log(`dist/${service}  ${mb} MB  (${Math.round(performance.now() - started)} ms)`);
}

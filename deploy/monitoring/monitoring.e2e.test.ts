/**
 * The monitoring files against the real thing: Debian's Prometheus runs with the committed
 * scrape configuration (targets pointed at the test stack on 127.0.0.1) and rules, scrapes
 * every service, and is asked every dashboard panel's and every rule's query over its HTTP
 * API. Each must be valid PromQL, and every metric it names must be one a service exportedNames
 * (from their /metrics expositions) or a recording rule of the rules file.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "../../dev/stack/free-port.ts";
import { call, eventually, registerAndLogin } from "../../dev/testing/http.ts";
import { testStack } from "../../dev/testing/test-stack.ts";
import { useEndToEndTimeouts } from "../../dev/testing/timeouts.ts";

useEndToEndTimeouts();

const DIR = resolve(import.meta.dir);
const PROMETHEUS = Bun.which("prometheus");
if (!PROMETHEUS) console.warn("\n*** SKIPPED: prometheus is not installed, so the dashboard's and the rules' queries are not checked (apt-get install -y prometheus; .ci/run does) ***\n");

interface Rule { record?: string; alert?: string; expr: string }
const rules = (Bun.YAML.parse(readFileSync(join(DIR, "rules/hot-deal.rules.yml"), "utf8")) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(readFileSync(join(DIR, "grafana/dashboards/hot-deal.json"), "utf8")) as { panels: { type: string; title: string; targets?: { expr: string }[] }[] };
const panelQueries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })));
const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));

const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "inf", "nan"]);

/** The metric names a PromQL expression selects (not functions, labels, keywords or durations). */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set<string>();
  for (const m of stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)) {
    const [, name, call] = m;
    if (call || KEYWORDS.has(name!.toLowerCase())) continue;
    names.add(name!);
  }
  return [...names];
}

/** Names in a Prometheus text exposition, with the series names a histogram or summary adds. */
function exported(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(name! + s);
    if (type === "summary") for (const s of ["_sum", "_count"]) names.add(name! + s);
  }
  return names;
}

let prometheus: Subprocess | null = null;
let promUrl = "";
let workDir = "";
const exportedNames = new Set<string>(["up"]);

async function query(expr: string): Promise<{ status: string; error?: string; data?: { result: unknown[] } }> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return (await res.json()) as { status: string; error?: string };
}

beforeAll(async () => {
  if (!PROMETHEUS) return;
  const stack = await testStack();
  // Traffic of every kind the panels show: answered, refused, unknown routes, logins.
  const user = await registerAndLogin(stack.gatewayUrl, "monitoring");
  await Promise.all([call(stack.gatewayUrl, "GET", "/products/deals"), call(stack.gatewayUrl, "GET", "/nope"), call(stack.gatewayUrl, "GET", "/auth/users/me", { token: user.access })]);
  // The gateway's /metrics is on its admin listener, not the public port.
  const gatewayMetrics = new URL(stack.gatewayAdminUrl);
  const targets: Record<string, string> = {
    gateway: gatewayMetrics.host,
    auth: `127.0.0.1:${stack.ports.auth}`,
    product: `127.0.0.1:${stack.ports.product}`,
    order: `127.0.0.1:${stack.ports.order}`,
  };
  // The order service is in the stack once its branch lands.
  const orderUrl = (stack as { orderUrl?: string }).orderUrl;
  if (orderUrl) targets.order = new URL(orderUrl).host;
  for (const t of Object.values(targets)) for (const n of exported(await (await fetch(`http://${t}/metrics`)).text())) exportedNames.add(n);

  const committed = Bun.YAML.parse(readFileSync(join(DIR, "prometheus.yml"), "utf8")) as any;
  expect(committed.scrape_configs.map((j: { job_name: string }) => j.job_name).sort()).toEqual(["auth", "gateway", "order", "product"]);
  workDir = mkdtempSync(join(tmpdir(), "prometheus-"));
  const config = {
    ...committed,
    global: { scrape_interval: "1s", evaluation_interval: "1s" },
    rule_files: committed.rule_files.map((f: string) => join(DIR, f)),
    // The committed jobs, pointed at this stack.
    scrape_configs: committed.scrape_configs.filter((j: { job_name: string }) => targets[j.job_name]).map((j: { job_name: string }) => ({ ...j, static_configs: [{ targets: [targets[j.job_name]] }] })),
  };
  writeFileSync(join(workDir, "prometheus.yml"), JSON.stringify(config));
  const port = freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prometheus = Bun.spawn([PROMETHEUS, `--config.file=${join(workDir, "prometheus.yml")}`, `--storage.tsdb.path=${join(workDir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"], { stdout: "ignore", stderr: "pipe" });
  await eventually(async () => {
    const up = await query("up");
    expect(up.data?.result.length).toBe(Object.keys(targets).length);
    expect((up.data!.result as { value: [number, string] }[]).every((r) => r.value[1] === "1")).toBe(true);
  }, 20_000, 200);
}, 60_000);

afterAll(async () => {
  prometheus?.kill();
  await prometheus?.exited;
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe.skipIf(!PROMETHEUS)("Prometheus against a running stack", () => {
  test("the extractor finds metric names and nothing else", () => {
    expect(metricNames('sum by (service, le) (rate(http_request_duration_seconds_bucket{route!~".*health", le="+Inf"}[5m])) / on (service) group_left up > 0.5 and x:y:z')).toEqual(["http_request_duration_seconds_bucket", "up", "x:y:z"]);
  });

  test("every rule is loaded and evaluates without error", async () => {
    await eventually(async () => {
      const body = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] } };
      const loaded = body.data.groups.flatMap((g) => g.rules);
      expect(loaded.length).toBe(rules.length);
      expect(loaded.filter((r) => r.health !== "ok").map((r) => `${r.name}: ${r.health} ${r.lastError ?? ""}`)).toEqual([]);
    }, 10_000, 200);
  }, 30_000);

  test("the recording rules have series from this stack's traffic", async () => {
    await eventually(async () => {
      const r = await query('service_route:http_requests:rate1m{service="gateway",route="/products/deals"}');
      expect(r.data?.result.length).toBe(1);
    }, 10_000, 250);
  }, 30_000);

  test.each([...rules.map((r) => ({ title: `rule ${r.record ?? r.alert}`, expr: r.expr })), ...panelQueries])("$title: valid PromQL over exported metrics", async ({ expr }) => {
    const r = await query(expr);
    expect({ status: r.status, error: r.error }).toEqual({ status: "success", error: undefined });
    const unknown = metricNames(expr).filter((n) => !exportedNames.has(n) && !recorded.has(n));
    expect(unknown).toEqual([]);
  });

  test("the dashboard shows what the issue asks for", () => {
    const all = panelQueries.map((q) => q.expr).join("\n");
    for (const needed of ["http_requests:rate1m", "p99", "status", "gateway_shed_total", "gateway_rate_limited_total", "gateway_upstream_errors_total", "product_snapshot_age_seconds", "db_pool_connections", 'orders_total{outcome="confirmed"}', 'outcome!="confirmed"']) expect(all).toContain(needed);
  });
});

describe("the Grafana files", () => {
  test("every panel reads the provisioned data source, and no two panels overlap", () => {
    const ds = (Bun.YAML.parse(readFileSync(join(DIR, "grafana/provisioning/datasources/prometheus.yml"), "utf8")) as { datasources: { uid: string }[] }).datasources[0]!;
    const panels = dashboard.panels as unknown as { type: string; title: string; datasource?: { uid: string }; gridPos: { x: number; y: number; w: number; h: number } }[];
    for (const p of panels.filter((p) => p.type !== "row")) expect({ title: p.title, uid: p.datasource?.uid }).toEqual({ title: p.title, uid: ds.uid });
    const cells = new Map<string, string>();
    for (const p of panels) for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
      const key = `${x},${y}`;
      expect(cells.get(key), `${p.title} overlaps ${cells.get(key)}`).toBeUndefined();
      cells.set(key, p.title);
    }
  });
});

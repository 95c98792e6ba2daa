/**
 * compose.monitoring.yaml fits compose.yaml (no Docker Compose runs here): what it mounts
 * exists, every Prometheus target is a name the compose network resolves, and Grafana's data
 * source is the Prometheus service.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const yaml = (path: string) => Bun.YAML.parse(readFileSync(resolve(ROOT, path), "utf8")) as any;
const base = yaml("compose.yaml");
const monitoring = yaml("compose.monitoring.yaml");
const services = { ...base.services, ...monitoring.services } as Record<string, { hostname?: string; networks?: { default?: { aliases?: string[] } }; volumes?: string[] }>;

/** Every name a container is reachable by on the default network. */
const resolvable = new Set(Object.entries(services).flatMap(([name, s]) => [name, ...(s.hostname ? [s.hostname] : []), ...(s.networks?.default?.aliases ?? [])]));

describe("compose.monitoring.yaml", () => {
  test("the files it mounts exist", () => {
    for (const s of Object.values(monitoring.services) as { volumes?: string[] }[])
      for (const v of s.volumes ?? []) if (v.startsWith("./")) expect(existsSync(resolve(ROOT, v.split(":")[0]!)), v).toBe(true);
  });

  test("every scrape target is a name on the compose network", () => {
    const prometheus = yaml("deploy/monitoring/prometheus.yml");
    for (const job of prometheus.scrape_configs as { job_name: string; static_configs: { targets: string[] }[] }[])
      for (const target of job.static_configs.flatMap((c) => c.targets)) {
        const [host] = target.split(":");
        expect({ target, resolvable: resolvable.has(host!) }).toEqual({ target, resolvable: true });
      }
  });

  test("Grafana's data source is the Prometheus service", () => {
    const ds = yaml("deploy/monitoring/grafana/provisioning/datasources/prometheus.yml").datasources[0];
    expect(new URL(ds.url).hostname).toBe("prometheus");
    expect(resolvable.has("prometheus")).toBe(true);
  });
});

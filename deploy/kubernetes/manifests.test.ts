/**
 * The Kubernetes manifests, without a cluster: every object of the base and of each overlay,
 * built by the resolver in kustomize.ts (held to `kubectl kustomize` when kubectl is here),
 * is valid against the Kubernetes API schemas (kubernetes-models); every setting a manifest
 * gives a service is in its settings table (and a value it accepts); every port is the one it listens on with those
 * settings, and every probe path answers 200 on a running stack; the rules the issue sets
 * (probes, resources, security context, graceful stop, autoscalers, budgets, spread) hold.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import type { IContainer } from "kubernetes-models/v1/Container";
import { AUTH_SETTINGS } from "../../auth/config.ts";
import { GATEWAY_SETTINGS } from "../../gateway/config.ts";
import { testStack } from "../../dev/testing/test-stack.ts";
import { ORDER_SETTINGS } from "../../order/config.ts";
import { PRODUCT_SETTINGS } from "../../product/config.ts";
import { buildKustomization, parseYamlDocuments, type K8sObject } from "./kustomize.ts";
import { useEndToEndTimeouts } from "../../dev/testing/timeouts.ts";

useEndToEndTimeouts();

const ROOT = resolve(import.meta.dir);
const KUSTOMIZATIONS = ["base", ...readdirSync(resolve(ROOT, "overlays")).map((o) => `overlays/${o}`)];
const SERVICES = ["gateway", "auth", "product", "order"] as const;
type ServiceName = (typeof SERVICES)[number];
const AUTOSCALED: ServiceName[] = ["gateway", "product", "order"];

const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  "apps/v1/Deployment": Deployment,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "v1/ConfigMap": ConfigMap,
  "v1/Namespace": Namespace,
  "v1/Secret": Secret,
  "v1/Service": Service,
};

const built = new Map(KUSTOMIZATIONS.map((k) => [k, buildKustomization(resolve(ROOT, k))]));
const find = (objects: K8sObject[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const DUMMY_SECRETS: Record<string, string> = {
  JWT_SECRET: "k".repeat(64),
  DATABASE_URL: "postgres://u:p@pooler:6432/db",
  DATABASE_SESSION_URL: "postgres://u:p@postgres:5432/db",
};

/** The environment a Deployment's container gets: its ConfigMaps' data and its env entries. */
function containerEnv(objects: K8sObject[], c: IContainer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const cm = find(objects, "ConfigMap", from.configMapRef!.name!);
    if (!cm) throw new Error(`ConfigMap ${from.configMapRef!.name} is not in the build`);
    Object.assign(env, cm.data);
  }
  for (const e of c.env ?? []) env[e.name] = e.value ?? DUMMY_SECRETS[e.valueFrom!.secretKeyRef!.key]!;
  return env;
}

/**
 * The variables in a service's settings table, and the ports it listens on with `values`: its
 * service port as `http`, and the gateway's admin listener as `admin`.
 */
function settingsRead(service: ServiceName, values: Record<string, string>): { names: Set<string>; ports: Record<string, number> } {
  const settings = { gateway: GATEWAY_SETTINGS, auth: AUTH_SETTINGS, product: PRODUCT_SETTINGS, order: ORDER_SETTINGS }[service];
  const names = new Set(Object.values(settings.table).map((s) => s.env));
  // Reading them all also proves every value the manifest gives is one the service accepts.
  const config = settings.read(values);
  return { names, ports: service === "gateway" ? { http: config.port, admin: GATEWAY_SETTINGS.read(values).adminPort } : { http: config.port } };
}

const deploymentOf = (objects: K8sObject[], service: ServiceName) => find(objects, "Deployment", service) as unknown as Deployment;

describe("kustomize builds", () => {
  const kubectl = Bun.which("kubectl");
  for (const k of KUSTOMIZATIONS) {
    test.skipIf(!kubectl)(`${k}: the resolver's build is kubectl kustomize's`, () => {
      const out = Bun.spawnSync([kubectl!, "kustomize", resolve(ROOT, k)], { stderr: "pipe" });
      expect(out.stderr.toString()).toBe("");
      const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
      const theirs = Object.fromEntries((parseYamlDocuments(out.stdout.toString()) as K8sObject[]).map((o) => [key(o), o]));
      const ours = Object.fromEntries(built.get(k)!.map((o) => [key(o), o]));
      expect(ours).toEqual(theirs);
    });
  }
  if (!kubectl) test("kubectl is not installed: the resolver's builds are not compared with kustomize's (apt-get install kubectl)", () => {});
});

describe.each(KUSTOMIZATIONS)("%s", (k) => {
  const objects = built.get(k)!;

  test("every object is valid against the Kubernetes API schema", () => {
    for (const o of objects) {
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      if (!Model) throw new Error(`no schema check for ${o.apiVersion} ${o.kind}: add it to MODELS`);
      expect(() => new Model(o).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow();
    }
  });

  test("a Deployment, Service and PodDisruptionBudget per service; autoscalers for gateway, product and order", () => {
    for (const s of SERVICES) for (const kind of ["Deployment", "Service", "PodDisruptionBudget"]) expect(find(objects, kind, s), `${kind}/${s}`).toBeDefined();
    expect(objects.filter((o) => o.kind === "HorizontalPodAutoscaler").map((o) => o.metadata.name).sort()).toEqual([...AUTOSCALED].sort());
    for (const s of AUTOSCALED) {
      const hpa = find(objects, "HorizontalPodAutoscaler", s) as any;
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: s });
      // The autoscaler owns the count; a fixed one in the Deployment would reset it on every apply.
      expect((deploymentOf(objects, s).spec as any).replicas).toBeUndefined();
    }
  });

  test.each(SERVICES)("%s: every setting it is given is one it reads", (s) => {
    const c = deploymentOf(objects, s).spec!.template.spec!.containers[0]!;
    const env = containerEnv(objects, c);
    const { names } = settingsRead(s, env);
    expect(Object.keys(env).filter((n) => !names.has(n))).toEqual([]);
  });

  test.each(SERVICES)("%s: its ports are the ones it listens on, its Service and probes name them", (s) => {
    const d = deploymentOf(objects, s);
    const c = d.spec!.template.spec!.containers[0]!;
    const ports = new Map((c.ports ?? []).map((p) => [p.name!, p.containerPort]));
    expect(Object.fromEntries(ports)).toEqual(settingsRead(s, containerEnv(objects, c)).ports);
    const svc = find(objects, "Service", s) as unknown as Service;
    for (const p of svc.spec!.ports!) expect(ports.has(String(p.targetPort))).toBe(true);
    expect(svc.spec!.selector).toEqual(d.spec!.selector.matchLabels!);
    for (const [key, value] of Object.entries(d.spec!.selector.matchLabels!)) expect(d.spec!.template.metadata!.labels![key]).toBe(value);
    for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) expect(ports.has(String(probe!.httpGet!.port))).toBe(true);
    const scrape = d.spec!.template.metadata!.annotations!;
    expect(scrape["prometheus.io/scrape"]).toBe("true");
    expect([...ports.values()]).toContain(Number(scrape["prometheus.io/port"]));
    expect(scrape["prometheus.io/path"]).toBe("/metrics");
    expect([c.startupProbe!.httpGet!.path, c.livenessProbe!.httpGet!.path, c.readinessProbe!.httpGet!.path]).toEqual(["/health", "/health", "/ready"]);
  });

  const podLabels = (s: ServiceName) => deploymentOf(objects, s).spec!.template.metadata!.labels!;
  /** The policies whose pod selector picks the pods with these labels. */
  const policiesOver = (labels: Record<string, string>) =>
    (objects.filter((o) => o.kind === "NetworkPolicy") as unknown as NetworkPolicy[]).filter((p) =>
      Object.entries(p.spec!.podSelector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v),
    );

  test.each(SERVICES.filter((s) => s !== "gateway"))("%s: only the gateway's pods (and Prometheus) may reach it, on its port", (s) => {
    const d = deploymentOf(objects, s);
    const own = policiesOver(podLabels(s));
    expect(own.map((p) => p.metadata!.name)).toEqual([s]);
    const spec = own[0]!.spec!;
    expect(spec.policyTypes).toEqual(["Ingress"]);
    const gateway = podLabels("gateway");
    const ports = new Set((d.spec!.template.spec!.containers[0]!.ports ?? []).map((p) => p.name));
    for (const rule of spec.ingress!) {
      for (const peer of rule.from!) {
        const labels = peer.podSelector?.matchLabels ?? {};
        if (peer.namespaceSelector) expect(labels).toEqual({ "app.kubernetes.io/name": "prometheus" });
        else expect(Object.entries(labels).every(([k, v]) => gateway[k] === v) && Object.keys(labels).length > 0).toBe(true);
        expect(peer.ipBlock).toBeUndefined();
      }
      for (const p of rule.ports!) expect(ports.has(String(p.port))).toBe(true);
    }
  });

  test("the gateway, the way in, has no policy shutting clients out", () => {
    expect(policiesOver(podLabels("gateway"))).toEqual([]);
  });

  test.each(SERVICES)("%s: non-root, read-only root, no capabilities, no escalation; /tmp an emptyDir", (s) => {
    const pod = deploymentOf(objects, s).spec!.template.spec!;
    const c = pod.containers[0]!;
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    const tmp = c.volumeMounts?.find((m) => m.mountPath === "/tmp");
    expect(pod.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  test.each(SERVICES)("%s: requests and limits, spread over zones and nodes, a budget", (s) => {
    const pod = deploymentOf(objects, s).spec!.template.spec!;
    const r = pod.containers[0]!.resources!;
    for (const kind of ["cpu", "memory"]) {
      expect(r.requests?.[kind]).toBeDefined();
      expect(r.limits?.[kind]).toBeDefined();
    }
    expect(pod.topologySpreadConstraints!.map((t) => t.topologyKey).sort()).toEqual(["kubernetes.io/hostname", "topology.kubernetes.io/zone"]);
    const pdb = find(objects, "PodDisruptionBudget", s) as unknown as PodDisruptionBudget;
    expect(pdb.spec!.selector!.matchLabels).toEqual(deploymentOf(objects, s).spec!.selector.matchLabels!);
  });

  test.each(SERVICES)("%s: the kubelet waits out preStop and SHUTDOWN_GRACE_MS before it kills", (s) => {
    const pod = deploymentOf(objects, s).spec!.template.spec!;
    const c = pod.containers[0]!;
    const graceMs = Number(containerEnv(objects, c).SHUTDOWN_GRACE_MS);
    expect(graceMs).toBeGreaterThan(0);
    const preStop = c.lifecycle!.preStop!.sleep!.seconds;
    expect(preStop).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds!).toBeGreaterThan(preStop + graceMs / 1000);
  });

  test.each(SERVICES)("%s: the signing key and the database URL come from the Secret, every key of which the example has", (s) => {
    const c = deploymentOf(objects, s).spec!.template.spec!.containers[0]!;
    const example = parseYamlDocuments(require("node:fs").readFileSync(resolve(ROOT, "secret.example.yaml"), "utf8"))[0] as K8sObject;
    expect(() => new Secret(example as any).validate()).not.toThrow();
    const fromSecret = new Map((c.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => [e.name, e.valueFrom!.secretKeyRef!]));
    for (const ref of fromSecret.values()) {
      expect(ref.name).toBe(example.metadata.name);
      expect(Object.keys(example.stringData as object)).toContain(ref.key);
    }
    const settings = containerEnv(objects, c);
    if ("JWT_SECRET" in settings) expect(fromSecret.has("JWT_SECRET")).toBe(true);
    if ("DATABASE_URL" in settings) expect(fromSecret.has("DATABASE_URL")).toBe(true);
    for (const e of c.env ?? []) expect(e.value, `${e.name} is set inline; settings belong in the ConfigMap`).toBeUndefined();
  });
});

describe("on a running stack", () => {
  test("every probe path of every service answers 200 where it is served", async () => {
    const stack = await testStack();
    const urls: Record<ServiceName, string> = { gateway: stack.gatewayUrl, auth: stack.authUrl, product: stack.productUrl, order: stack.orderUrl };
    const objects = built.get("base")!;
    for (const s of SERVICES) {
      const url = urls[s];
      const c = deploymentOf(objects, s).spec!.template.spec!.containers[0]!;
      for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) {
        const res = await fetch(url + probe!.httpGet!.path);
        expect({ service: s, path: probe!.httpGet!.path, status: res.status }).toEqual({ service: s, path: probe!.httpGet!.path!, status: 200 });
      }
    }
    // It may be the first to start the shared stack, on a machine busy with other suites.
  }, 60_000);
});

/**
 * Builds a kustomization the way `kubectl kustomize` does, for the subset these manifests use
 * (resources, namespace, images, JSON 6902 patches with a kind/name target), so the manifest
 * test needs neither network nor a kubectl binary. When kubectl is installed the test holds
 * this to its output.
 */
import { readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown };

interface Kustomization {
  resources?: string[];
  namespace?: string;
  images?: { name: string; newName?: string; newTag?: string }[];
  patches?: { target: { kind?: string; name?: string }; patch: string }[];
}

type PatchOp = { op: "add" | "replace" | "remove"; path: string; value?: unknown };

const SUPPORTED = new Set(["apiVersion", "kind", "resources", "namespace", "images", "patches"]);
// Objects without a namespace of their own: kustomize's namespace leaves them alone.
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass"]);

export function parseYamlDocuments(text: string): unknown[] {
  const parsed = Bun.YAML.parse(text);
  return (Array.isArray(parsed) && /^---/m.test(text) ? parsed : [parsed]).filter((d) => d !== null && d !== undefined);
}

export function buildKustomization(dir: string): K8sObject[] {
  const k = Bun.YAML.parse(readFileSync(join(dir, "kustomization.yaml"), "utf8")) as Kustomization;
  for (const key of Object.keys(k)) if (!SUPPORTED.has(key)) throw new Error(`${dir}: kustomization field "${key}" is not supported by this resolver`);
  let objects: K8sObject[] = [];
  for (const entry of k.resources ?? []) {
    const path = resolve(dir, entry);
    objects.push(...(statSync(path).isDirectory() ? buildKustomization(path) : (parseYamlDocuments(readFileSync(path, "utf8")) as K8sObject[])));
  }
  objects = structuredClone(objects);
  for (const o of objects) {
    if (k.namespace && !CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
    for (const image of k.images ?? []) for (const c of containersOf(o)) c.image = renameImage(c.image, image);
  }
  for (const p of k.patches ?? []) {
    const ops = Bun.YAML.parse(p.patch) as PatchOp[];
    const nameMatch = p.target.name === undefined ? null : new RegExp(`^(?:${p.target.name})$`);
    const targets = objects.filter((o) => (p.target.kind === undefined || o.kind === p.target.kind) && (nameMatch === null || nameMatch.test(o.metadata.name)));
    if (targets.length === 0) throw new Error(`${dir}: a patch matches nothing (${JSON.stringify(p.target)})`);
    for (const o of targets) for (const op of ops) applyOp(o, op);
  }
  return objects;
}

function containersOf(o: K8sObject): { image: string }[] {
  const spec = (o.spec as { template?: { spec?: { containers?: { image: string }[]; initContainers?: { image: string }[] } } } | undefined)?.template?.spec;
  return [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])];
}

function renameImage(current: string, rule: { name: string; newName?: string; newTag?: string }): string {
  const at = current.lastIndexOf(":");
  const [name, tag] = at > current.lastIndexOf("/") ? [current.slice(0, at), current.slice(at + 1)] : [current, undefined];
  if (name !== rule.name) return current;
  const newTag = rule.newTag ?? tag;
  return (rule.newName ?? name) + (newTag ? `:${newTag}` : "");
}

/** RFC 6902 add, replace and remove on a JSON pointer. */
function applyOp(root: K8sObject, op: PatchOp): void {
  const keys = op.path.split("/").slice(1).map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
  const last = keys.pop()!;
  let parent: any = root;
  for (const key of keys) {
    parent = parent?.[Array.isArray(parent) ? Number(key) : key];
    if (parent === undefined) throw new Error(`${root.kind}/${root.metadata.name}: ${op.path} does not exist`);
  }
  if (Array.isArray(parent)) {
    const i = last === "-" ? parent.length : Number(last);
    if (op.op === "add") parent.splice(i, 0, op.value);
    else if (i >= parent.length) throw new Error(`${root.kind}/${root.metadata.name}: ${op.path} does not exist`);
    else if (op.op === "replace") parent[i] = op.value;
    else parent.splice(i, 1);
    return;
  }
  if (op.op !== "add" && !(last in parent)) throw new Error(`${root.kind}/${root.metadata.name}: ${op.path} does not exist`);
  if (op.op === "remove") delete parent[last];
  else parent[last] = op.value;
}

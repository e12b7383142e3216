// deploy/ as a cluster receives it: `kubectl kustomize deploy/` (cluster pools, the default) or
// `kubectl kustomize deploy/single-node/` when kubectl is installed, else the same rendering done
// here for the few kustomize features deploy/ uses (resources, directories among them; namespace;
// images; strategic-merge patches of maps and of lists keyed by name). Debian bookworm has no
// kubectl package, so a fresh CI machine may lack it; the tests say which renderer they used.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './daemonProcess.ts';

export const DEPLOY = join(REPO_ROOT, 'deploy');
/** The single-node overlay: file mode, no etcd. */
export const SINGLE_NODE = join(DEPLOY, 'single-node');
export const KUBECTL = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((path) => existsSync(path));

export type Manifest = Record<string, unknown> & { kind: string; metadata: { name: string; namespace?: string } };

export interface VolumeMount { name: string; mountPath: string; readOnly?: boolean; mountPropagation?: string }
export interface SecurityContext {
  runAsUser?: number; runAsGroup?: number; runAsNonRoot?: boolean; privileged?: boolean;
  allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
}
export interface Container {
  name: string; image: string; command?: string[]; args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } } }[];
  ports?: { containerPort: number }[];
  livenessProbe?: { httpGet: { path: string; port: number } };
  readinessProbe?: { httpGet: { path: string; port: number } };
  volumeMounts?: VolumeMount[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
}
export interface Volume {
  name: string; hostPath?: { path: string; type?: string }; configMap?: { name: string };
  secret?: { secretName: string; defaultMode?: number; items?: { key: string; path: string }[] };
}
export interface PodSpec {
  hostNetwork?: boolean; priorityClassName: string; tolerations: { operator: string }[];
  securityContext?: { seccompProfile?: { type: string }; fsGroup?: number };
  initContainers: Container[]; containers: Container[]; volumes: Volume[];
}
export interface DaemonSet extends Manifest { spec: { template: { spec: PodSpec } } }

function parseYaml(text: string, source: string): Manifest[] {
  return parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors[0]!.message}`);
    return doc.toJS() as Manifest;
  }).filter((doc) => doc !== null);
}

const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PriorityClass', 'CustomResourceDefinition']);

interface Kustomization {
  namespace?: string; resources: string[]; patches?: { path: string }[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

/** A kustomization applied by hand: resources in order (a directory is rendered first), patches, namespace, image tags. */
export function renderBuiltIn(dir = DEPLOY): Manifest[] {
  const [kustomization] = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'), 'kustomization.yaml') as unknown as [Kustomization];
  const known = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'patches', 'images']);
  const unknown = Object.keys(kustomization).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new Error(`${dir}/kustomization.yaml uses ${unknown.join(', ')}, which renderBuiltIn does not implement`);
  let docs = kustomization.resources.flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? renderBuiltIn(path) : parseYaml(readFileSync(path, 'utf8'), entry);
  });
  for (const { path } of kustomization.patches ?? []) {
    for (const patch of parseYaml(readFileSync(join(dir, path), 'utf8'), path)) {
      const index = docs.findIndex((doc) => doc.kind === patch.kind && doc.metadata.name === patch.metadata.name);
      if (index < 0) throw new Error(`${path}: no ${patch.kind} ${patch.metadata.name} to patch`);
      docs = docs.with(index, mergePatch(docs[index], patch) as Manifest);
    }
  }
  for (const doc of docs) {
    if (kustomization.namespace && !CLUSTER_SCOPED.has(doc.kind)) doc.metadata.namespace = kustomization.namespace;
    const pod = (doc as Partial<DaemonSet>).spec?.template?.spec;
    for (const container of [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])]) {
      const [name, tag] = container.image.split(':');
      const image = kustomization.images?.find((entry) => entry.name === name);
      if (image) container.image = `${image.newName ?? name}:${image.newTag ?? tag}`;
    }
  }
  return docs;
}

type Named = Record<string, unknown> & { name: string };
const isNamed = (item: unknown): item is Named => typeof item === 'object' && item !== null && typeof (item as Named).name === 'string';
const isMap = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Strategic merge as kustomize does it for what deploy/ patches: maps merge key by key; lists of
 * named items (containers, env, volumes, volumeMounts) merge by name, items only in the patch
 * first; other lists (args, command) are replaced.
 */
function mergePatch(base: unknown, patch: unknown): unknown {
  if (Array.isArray(base) && Array.isArray(patch) && base.every(isNamed) && patch.every(isNamed)) {
    const merged = base.map((item) => {
      const change = patch.find((candidate) => candidate.name === item.name);
      return change ? mergePatch(item, change) : item;
    });
    return [...patch.filter((item) => !base.some((candidate) => candidate.name === item.name)), ...merged];
  }
  if (isMap(base) && isMap(patch)) {
    const merged = { ...base };
    for (const [key, value] of Object.entries(patch)) merged[key] = key in base ? mergePatch(base[key], value) : value;
    return merged;
  }
  return patch;
}

export function renderWithKubectl(dir = DEPLOY): Manifest[] {
  if (!KUBECTL) throw new Error('kubectl is not installed');
  return parseYaml(execFileSync(KUBECTL, ['kustomize', dir], { encoding: 'utf8' }), 'kubectl kustomize');
}

/** The rendered objects of deploy/ (or an overlay of it) and who rendered them. */
export function renderDeploy(dir = DEPLOY): { renderer: string; manifests: Manifest[] } {
  return KUBECTL ? { renderer: `kubectl kustomize (${KUBECTL})`, manifests: renderWithKubectl(dir) } : { renderer: 'built-in (no kubectl)', manifests: renderBuiltIn(dir) };
}

/** Rendered objects in a stable order (kubectl sorts by kind; the built-in reading keeps the listing's). */
export function byKindAndName(manifests: readonly Manifest[]): Manifest[] {
  return [...manifests].sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`));
}

export function daemonSetOf(manifests: Manifest[]): DaemonSet {
  const daemonSet = manifests.find((m) => m.kind === 'DaemonSet');
  if (!daemonSet) throw new Error('no DaemonSet in deploy/');
  return daemonSet as DaemonSet;
}

// deploy/ as a cluster receives it: `kubectl kustomize deploy/` when kubectl is installed, else
// the same rendering done here for the few kustomize features deploy/kustomization.yaml uses
// (resources, namespace, images). Debian bookworm has no kubectl package, so a fresh CI machine
// may lack it; the tests say which renderer they used.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './daemonProcess.ts';

export const DEPLOY = join(REPO_ROOT, 'deploy');
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
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports?: { containerPort: number }[];
  livenessProbe?: { httpGet: { path: string; port: number } };
  readinessProbe?: { httpGet: { path: string; port: number } };
  volumeMounts?: VolumeMount[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
}
export interface Volume { name: string; hostPath?: { path: string; type?: string }; configMap?: { name: string } }
export interface PodSpec {
  hostNetwork?: boolean; priorityClassName: string; tolerations: { operator: string }[];
  securityContext?: { seccompProfile?: { type: string } };
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

/** deploy/kustomization.yaml applied by hand: resources in order, namespace, image tags. */
export function renderBuiltIn(dir = DEPLOY): Manifest[] {
  const [kustomization] = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'), 'kustomization.yaml') as unknown as
    [{ namespace?: string; resources: string[]; images?: { name: string; newName?: string; newTag?: string }[] }];
  const known = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'images']);
  const unknown = Object.keys(kustomization).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new Error(`kustomization.yaml uses ${unknown.join(', ')}, which renderBuiltIn does not implement`);
  const docs = kustomization.resources.flatMap((file) => parseYaml(readFileSync(join(dir, file), 'utf8'), file));
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

export function renderWithKubectl(dir = DEPLOY): Manifest[] {
  if (!KUBECTL) throw new Error('kubectl is not installed');
  return parseYaml(execFileSync(KUBECTL, ['kustomize', dir], { encoding: 'utf8' }), 'kubectl kustomize');
}

/** The rendered objects and who rendered them. */
export function renderDeploy(): { renderer: string; manifests: Manifest[] } {
  return KUBECTL ? { renderer: `kubectl kustomize (${KUBECTL})`, manifests: renderWithKubectl() } : { renderer: 'built-in (no kubectl)', manifests: renderBuiltIn() };
}

export function daemonSetOf(manifests: Manifest[]): DaemonSet {
  const daemonSet = manifests.find((m) => m.kind === 'DaemonSet');
  if (!daemonSet) throw new Error('no DaemonSet in deploy/');
  return daemonSet as DaemonSet;
}

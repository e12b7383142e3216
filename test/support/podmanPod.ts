// Builds deploy/Dockerfile with podman (runc) offline, and runs a rendered DaemonSet's containers
// the way the kubelet would: host networking, the pod's hostPath volumes (under a temp dir, except
// /var/run/netns, which must be the real one), its security context, $(VAR) expansion of env.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './daemonProcess.ts';
import type { Container, PodSpec } from './deployManifests.ts';

/** runc on these machines cannot apply podman's default (unlimited) rlimits. */
export const RLIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1000:1000'];
export const PODMAN = ['--runtime', 'runc'];
/** The host CA bundle, for npm ci behind the machines' TLS-intercepting proxy. */
const CA_BUNDLE = process.env.NODE_EXTRA_CA_CERTS ?? '/etc/ssl/certs/ca-certificates.crt';

export function podman(...args: string[]): string {
  return execFileSync('podman', [...PODMAN, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
}

/** Local images carry the localhost/ prefix; `berth:0.1.0` in a manifest names localhost/berth:0.1.0. */
export const localImage = (image: string) => (image.includes('/') ? image : `localhost/${image}`);

/** makeBase.sh (cached FROM images), then the Dockerfile exactly as a user builds it. */
export function buildImage(image: string): { seconds: number; log: string } {
  const base = spawnSync(join(REPO_ROOT, 'scripts/image/makeBase.sh'), { encoding: 'utf8' });
  if (base.status !== 0) throw new Error(`makeBase.sh failed:\n${base.stdout}${base.stderr}`);
  const started = Date.now();
  const caArgs = existsSync(CA_BUNDLE) ? ['-v', `${CA_BUNDLE}:/run/extra-ca.pem:ro`, '--build-arg', 'NODE_EXTRA_CA_CERTS=/run/extra-ca.pem'] : [];
  const build = spawnSync('podman', [...PODMAN, 'build', '--network', 'host', ...RLIMITS, ...caArgs,
    '-f', join(REPO_ROOT, 'deploy/Dockerfile'), '-t', localImage(image), REPO_ROOT], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const log = `${base.stdout}${build.stdout}${build.stderr}`;
  if (build.status !== 0) throw new Error(`podman build failed:\n${log.slice(-6000)}`);
  return { seconds: (Date.now() - started) / 1000, log };
}

export interface PodHost {
  /** Where each hostPath volume lives on this machine. */
  hostPathFor(path: string): string;
  /** configMap name -> a directory holding its keys as files */
  configMapDirs: Record<string, string>;
  /** what the downward API gives: spec.nodeName, status.hostIP */
  fieldRefs: Record<string, string>;
}

function expand(text: string, env: Record<string, string>): string {
  return text.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole);
}

/** `podman run` arguments for one container of the pod (after `run`, up to and including the image and its args). */
export function podmanRunArgs(pod: PodSpec, container: Container, host: PodHost): string[] {
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    const fieldPath = variable.valueFrom?.fieldRef?.fieldPath;
    const value = variable.value ?? (fieldPath ? host.fieldRefs[fieldPath] : undefined);
    if (value === undefined) throw new Error(`${container.name}: env ${variable.name} has no value here`);
    env[variable.name] = value;
  }
  const args = [...RLIMITS];
  if (pod.hostNetwork) args.push('--network', 'host');
  for (const [name, value] of Object.entries(env)) args.push('--env', `${name}=${value}`);
  const security = container.securityContext ?? {};
  if (security.runAsUser !== undefined) args.push('--user', security.runAsGroup === undefined ? `${security.runAsUser}` : `${security.runAsUser}:${security.runAsGroup}`);
  for (const cap of security.capabilities?.drop ?? []) args.push('--cap-drop', cap);
  for (const cap of security.capabilities?.add ?? []) args.push('--cap-add', cap);
  if (security.allowPrivilegeEscalation === false) args.push('--security-opt', 'no-new-privileges');
  // Kubernetes mounts nothing writable over a read-only root; podman would add tmpfs on /run, /tmp.
  if (security.readOnlyRootFilesystem) args.push('--read-only', '--read-only-tmpfs=false');
  if (security.privileged) args.push('--privileged');
  for (const mount of container.volumeMounts ?? []) {
    const volume = pod.volumes.find((v) => v.name === mount.name);
    if (!volume) throw new Error(`${container.name}: no volume ${mount.name}`);
    let source: string;
    if (volume.hostPath) {
      source = host.hostPathFor(volume.hostPath.path);
      if (volume.hostPath.type === 'DirectoryOrCreate') mkdirSync(source, { recursive: true });
    } else if (volume.configMap) {
      source = host.configMapDirs[volume.configMap.name]!;
      if (!source) throw new Error(`${container.name}: no directory for ConfigMap ${volume.configMap.name}`);
    } else {
      throw new Error(`${container.name}: volume ${mount.name} is neither hostPath nor configMap`);
    }
    const options = [mount.readOnly || volume.configMap ? 'ro' : 'rw'];
    if (mount.mountPropagation === 'HostToContainer') options.push('rslave');
    args.push('-v', `${source}:${mount.mountPath}:${options.join(',')}`);
  }
  if (container.command) args.push('--entrypoint', JSON.stringify(container.command.map((part) => expand(part, env))));
  args.push(localImage(container.image), ...(container.args ?? []).map((arg) => expand(arg, env)));
  return args;
}

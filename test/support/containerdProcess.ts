// Debian's containerd 1.6 with its CRI plugin, started by a test from its own default config with
// root, state and socket in the test's temp dir, a CNI bin/conf dir of the test's, and a sandbox
// ("pause") image built locally, since none can be pulled here.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitUntil } from './daemonProcess.ts';

const PODMAN = ['--runtime', 'runc'];
export const PAUSE_IMAGE = 'localhost/berth-pause:1';

/**
 * A static busybox that sleeps, as the sandbox's one process (what registry.k8s.io/pause does),
 * built with podman from scratch and saved as an OCI archive for `ctr images import`.
 */
export function buildPauseArchive(dir: string): string {
  const context = join(dir, 'pause');
  mkdirSync(context, { recursive: true });
  execFileSync('cp', ['/bin/busybox', join(context, 'busybox')]);
  writeFileSync(join(context, 'Containerfile'), [
    'FROM scratch',
    'COPY busybox /bin/busybox',
    'STOPSIGNAL SIGKILL',
    'ENTRYPOINT ["/bin/busybox", "sleep", "2147483647"]',
    '',
  ].join('\n'));
  execFileSync('podman', [...PODMAN, 'build', '--quiet', '--network', 'none', '-t', PAUSE_IMAGE, context], { stdio: 'pipe' });
  const archive = join(dir, 'pause.tar');
  execFileSync('podman', [...PODMAN, 'save', '--quiet', '--format', 'oci-archive', '-o', archive, PAUSE_IMAGE], { stdio: 'pipe' });
  return archive;
}

/** containerd's own default config with only what this machine and the test need changed. */
export function containerdConfig(dir: string, cniBinDir: string, cniConfDir: string): string {
  const defaults = execFileSync('containerd', ['config', 'default'], { encoding: 'utf8' });
  const edits: [RegExp, string][] = [
    [/^root = ".*"$/m, `root = "${join(dir, 'root')}"`],
    [/^state = ".*"$/m, `state = "${join(dir, 'state')}"`],
    [/^(\s*)address = "\/run\/containerd\/containerd.sock"$/m, `$1address = "${join(dir, 'containerd.sock')}"`],
    // Without CAP_SYS_RESOURCE (these machines) runc dies with "can't get final child's PID from
    // pipe" when asked to lower the sandbox's oom_score_adj below its parent's.
    [/^(\s*)restrict_oom_score_adj = false$/m, '$1restrict_oom_score_adj = true'],
    [/^(\s*)sandbox_image = ".*"$/m, `$1sandbox_image = "${PAUSE_IMAGE}"`],
    [/^(\s*)bin_dir = ".*"$/m, `$1bin_dir = "${cniBinDir}"`],
    [/^(\s*)conf_dir = ".*"$/m, `$1conf_dir = "${cniConfDir}"`],
  ];
  let config = defaults;
  for (const [pattern, replacement] of edits) {
    if (!pattern.test(config)) throw new Error(`containerd's default config has no line matching ${pattern}`);
    config = config.replace(pattern, replacement);
  }
  return config;
}

export interface ContainerdHandle {
  readonly socketPath: string;
  process: ChildProcess;
  logs(): string;
  start(): Promise<void>;
  /** SIGTERM: the shims, and so the sandboxes, keep running, as on a containerd restart. */
  stop(): Promise<void>;
  ctr(...args: string[]): string;
}

export function createContainerd(dir: string, cniBinDir: string, cniConfDir: string): ContainerdHandle {
  mkdirSync(dir, { recursive: true });
  const configPath = join(dir, 'config.toml');
  writeFileSync(configPath, containerdConfig(dir, cniBinDir, cniConfDir));
  const socketPath = join(dir, 'containerd.sock');
  const logPath = join(dir, 'containerd.log');
  let output = '';
  const handle: ContainerdHandle = {
    socketPath,
    process: undefined as unknown as ChildProcess,
    logs: () => output,
    async start() {
      const child = spawn('containerd', ['--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
      handle.process = child;
      const from = output.length;
      const collect = (chunk: Buffer) => { output += chunk.toString(); writeFileSync(logPath, output); };
      child.stdout?.on('data', collect);
      child.stderr?.on('data', collect);
      await waitUntil(() => /containerd successfully booted/.test(output.slice(from)) || child.exitCode !== null, 60_000);
      if (child.exitCode !== null) throw new Error(`containerd exited with ${child.exitCode}:\n${output.slice(-4000)}`);
    },
    async stop() {
      const child = handle.process;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      child.kill('SIGTERM');
      await exited;
    },
    ctr: (...args) => execFileSync('ctr', ['--address', socketPath, '--namespace', 'k8s.io', ...args], { encoding: 'utf8' }),
  };
  return handle;
}

/** A CNI bin dir holding the host's bridge and loopback (containerd sets up lo itself) and berth. */
export function cniBinDir(dir: string, berthPlugin: string): string {
  mkdirSync(dir, { recursive: true });
  for (const plugin of ['bridge', 'loopback']) symlinkSync(`/usr/lib/cni/${plugin}`, join(dir, plugin));
  symlinkSync(berthPlugin, join(dir, 'berth'));
  return dir;
}

/** Mount points under a directory (overlay rootfs, shm), deepest first, for cleanup. */
export function mountsUnder(dir: string): string[] {
  if (!existsSync('/proc/self/mounts')) return [];
  return readFileSync('/proc/self/mounts', 'utf8').split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((mountPoint) => mountPoint.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

// Runs a CNI plugin (or any executable) as a runtime does: a fresh process, CNI_* in the
// environment, the network config on stdin. Times the whole process, spawn to exit.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { msSince } from './stats.mjs';

/**
 * The environment a runtime hands a plugin: PATH, CNI_*, and (when `withCaCerts`) this
 * environment's NODE_EXTRA_CA_CERTS, which makes every Node start read a CA bundle.
 */
export function pluginEnv(cni, { withCaCerts }) {
  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...cni };
  if (withCaCerts && process.env.NODE_EXTRA_CA_CERTS) env.NODE_EXTRA_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS;
  return env;
}

export function cniVars(command, containerId) {
  return { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: `/var/run/netns/${containerId}`, CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };
}

/** Runs argv to completion; rejects unless it exits 0. Resolves with wall milliseconds and stdout. */
export function timedExec(argv, env, stdin = '') {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = msSince(started);
      if (code === 0) resolve({ ms, stdout });
      else reject(new Error(`${argv.join(' ')} exited with ${code}: ${stdout}${stderr}`.trim()));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

/**
 * How peak RSS of a child is measured: GNU time's %M, else Python's getrusage(RUSAGE_CHILDREN);
 * both report the kernel's ru_maxrss of the exited child (peak resident set, KB). Null if neither exists.
 */
export function peakRssProbe() {
  if (existsSync('/usr/bin/time') && spawnSync('/usr/bin/time', ['-f', '%M', 'true']).status === 0) {
    return { method: 'GNU time -f %M (kernel ru_maxrss of the child)', wrap: (argv) => ['/usr/bin/time', '-f', '%M', ...argv], parse: lastNumberLine };
  }
  if (spawnSync('python3', ['-c', 'import resource']).status === 0) {
    const script = 'import resource,subprocess,sys;subprocess.run(sys.argv[1:],check=True);sys.stderr.write("%d\\n"%resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)';
    return { method: 'python3 getrusage(RUSAGE_CHILDREN).ru_maxrss (kernel peak RSS of the child)', wrap: (argv) => ['python3', '-c', script, ...argv], parse: lastNumberLine };
  }
  return undefined;
}

/** Peak RSS (MB) of one run of argv, or null when no probe is available. */
export function measurePeakRssMb(probe, argv, env, stdin = '') {
  if (!probe) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const child = spawn(probe.wrap(argv)[0], probe.wrap(argv).slice(1), { env, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.on('error', reject);
    child.on('close', (code) => {
      const kb = probe.parse(stderr);
      if (code === 0 && kb !== undefined) resolve(kb / 1024);
      else reject(new Error(`peak RSS of ${argv.join(' ')} failed (${code}): ${stderr}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

function lastNumberLine(text) {
  const lines = text.trim().split('\n');
  const value = Number(lines[lines.length - 1]);
  return Number.isFinite(value) ? value : undefined;
}

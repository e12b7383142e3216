#!/usr/bin/env node
// What `npm test` needs from Debian beyond npm: each package with a file that proves it is
// installed. Run as root, it installs what is missing (saying what); otherwise it fails at once
// with the exact apt-get line. Add a package here when a test starts to need one.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian package -> a file it installs, and why the suite needs it. */
export const TEST_PACKAGES = [
  ['containernetworking-plugins', '/usr/lib/cni/bridge', 'real bridge/macvlan/host-local plugins (plugin chains, bench)'],
  ['iproute2', '/usr/sbin/ip', 'network namespaces and veth pairs'],
  ['iputils-ping', '/usr/bin/ping', 'connectivity through a real plugin chain'],
  ['containerd', '/usr/bin/containerd', "containerd's CRI driving the plugin as kubelet does (containerdCri.serial.test.ts)"],
  ['runc', '/usr/sbin/runc', 'the OCI runtime under containerd and podman'],
  ['podman', '/usr/bin/podman', 'builds and runs deploy/Dockerfile, builds the CRI sandbox image'],
  ['debootstrap', '/usr/sbin/debootstrap', "the Dockerfile's FROM images, made offline (scripts/image/makeBase.sh)"],
  ['busybox-static', '/bin/busybox', "the CRI sandbox (pause) image's one static binary"],
  ['etcd-server', '/usr/bin/etcd', 'real 3-member etcd clusters for the cluster pool engine (claims, quorum loss, TLS)'],
  ['etcd-client', '/usr/bin/etcdctl', 'turns on etcd user/password auth for the cluster auth test'],
  ['time', '/usr/bin/time', 'peak RSS of the plugin as berthd install places it (install.test.ts)'],
];

export function missingPackages() {
  return TEST_PACKAGES.filter(([, file]) => !existsSync(file));
}

function main() {
  const missing = missingPackages();
  if (missing.length === 0) return;
  const names = missing.map(([name]) => name);
  const line = `apt-get update && apt-get install -y ${names.join(' ')}`;
  for (const [name, , why] of missing) process.stdout.write(`testDeps: missing ${name}: ${why}\n`);
  if (process.getuid?.() !== 0) {
    process.stderr.write(`testDeps: the suite needs root and these Debian packages; run as root:\n  ${line}\n`);
    process.exit(1);
  }
  process.stdout.write(`testDeps: installing: ${line}\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', ...names], { stdio: ['ignore', 'ignore', 'inherit'], env });
  const still = missingPackages();
  if (still.length > 0) {
    process.stderr.write(`testDeps: still missing after install: ${still.map(([n]) => n).join(' ')}\n`);
    process.exit(1);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();

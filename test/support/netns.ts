// Network namespaces and links made by a test, and removed by it.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' });
}

export function inNetns(netns: string, ...command: string[]): string {
  return execFileSync('ip', ['netns', 'exec', netns, ...command], { encoding: 'utf8' });
}

export function tryInNetns(netns: string, ...command: string[]): { ok: boolean; output: string } {
  try {
    return { ok: true, output: inNetns(netns, ...command) };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(3).toString('hex')}`;
}

/** A named netns (/var/run/netns/NAME) with IPv6 DAD off, so addresses are usable at once. */
export function createNetns(name: string): string {
  ip('netns', 'add', name);
  inNetns(name, 'ip', 'link', 'set', 'lo', 'up');
  for (const key of ['net.ipv6.conf.all.accept_dad', 'net.ipv6.conf.default.accept_dad']) inNetns(name, 'sysctl', '-qw', `${key}=0`);
  return `/var/run/netns/${name}`;
}

export function deleteNetns(name: string): void {
  try { ip('netns', 'delete', name); } catch { /* already gone */ }
}

export function deleteLink(name: string): void {
  try { ip('link', 'delete', name); } catch { /* already gone */ }
}

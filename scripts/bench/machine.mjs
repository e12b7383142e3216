// What the figures were measured on.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';

export function describeMachine() {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model?.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    nodeExtraCaCerts: process.env.NODE_EXTRA_CA_CERTS ?? null,
    hostLocal: hostLocalVersion(),
    // The machine is shared: how busy it was says how far the absolute figures are from a quiet one's.
    loadAverageAtStart: Math.round(loadavg()[0] * 10) / 10,
  };
}

function hostLocalVersion() {
  try {
    return execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'containernetworking-plugins'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }) || null;
  } catch {
    return null;
  }
}

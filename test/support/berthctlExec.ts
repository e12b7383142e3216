// Runs the built berthctl against a daemon's socket, as an operator would.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './daemonProcess.ts';

export const BERTHCTL = join(REPO_ROOT, 'dist', 'berthctl.mjs');

export function berthctl(socket: string, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BERTHCTL, '--socket', socket, ...args], { encoding: 'utf8', timeout: 30_000, maxBuffer: 256 * 1024 * 1024 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

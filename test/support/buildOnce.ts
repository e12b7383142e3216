// vitest global setup: builds dist/ (daemon bundles and the plugin executable) once before any
// test file runs, so every test that execs dist/berth runs the executable built from this tree,
// whether the whole suite or one file is run.
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';

export default function buildOnce(): void {
  const root = resolve(import.meta.dirname, '..', '..');
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--quiet'], { cwd: root, stdio: 'inherit' });
}

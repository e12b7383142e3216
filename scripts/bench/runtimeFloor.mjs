// The start-up floor of the plugin's runtime: an executable compiled exactly as dist/berth is
// (scripts/build.mjs), from an empty script. What dist/berth takes beyond it is berth's own.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bunExecutable, placeExecutable } from '../bunExecutable.mjs';
import { REPO_ROOT } from './paths.mjs';

export function buildRuntimeFloor(workDir) {
  const entry = join(workDir, 'empty.js');
  const out = join(workDir, 'bun-empty');
  writeFileSync(entry, '');
  execFileSync(bunExecutable(REPO_ROOT), ['build', entry, '--compile', '--minify', '--bytecode', '--no-compile-autoload-dotenv',
    '--no-compile-autoload-bunfig', '--compile-jit-policy=1000', '--outfile', `${out}.bun`], { cwd: workDir, stdio: 'ignore' });
  // Placed as dist/berth is, so that the two differ only in the script.
  placeExecutable(`${out}.bun`, out);
  return out;
}

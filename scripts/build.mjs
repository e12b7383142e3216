#!/usr/bin/env node
// Builds berth. `--js` stops after the daemon's JavaScript bundles (what `npm ci` and `npm start`
// need); without it the CNI plugin is also compiled into one executable file, dist/berth.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bunExecutable, placeExecutable } from './bunExecutable.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const args = new Set(process.argv.slice(2));
const jsOnly = args.has('--js');
const quiet = args.has('--quiet');
const say = (msg) => { if (!quiet) process.stdout.write(`build: ${msg}\n`); };

mkdirSync(dist, { recursive: true });
const started = Date.now();

// The daemon and berthctl keep their dependencies in node_modules (better-sqlite3 is native).
const nodeEntries = [
  ['daemon/src/main.ts', 'berthd.mjs'],
  ['daemon/src/ctl/main.ts', 'berthctl.mjs'],
];
for (const [entry, out] of nodeEntries) {
  if (!existsSync(join(root, entry))) continue;
  await build({
    entryPoints: [join(root, entry)],
    outfile: join(dist, out),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  say(`dist/${out}`);
}

if (!jsOnly && existsSync(join(root, 'cni-shim/src/main.ts'))) buildPlugin();
say(`done in ${Date.now() - started} ms`);

/**
 * dist/berth: the plugin bundled and compiled by Bun into one executable with its bytecode
 * precompiled. A runtime execs it once per verb, and Bun starts it in ~1/3 of a Node single
 * executable's time and ~2/3 of its memory (bench/results.md). The binary comes from the `bun`
 * dev dependency (npm ships it in @oven/bun-*), so the build works offline.
 */
function buildPlugin() {
  const tmp = join(dist, `berth.tmp-${process.pid}`);
  rmSync(tmp, { force: true });
  execFileSync(bunExecutable(root), ['build', join(root, 'cni-shim/src/main.ts'), '--compile', '--minify', '--bytecode',
    // The plugin runs in whatever directory the runtime is in: a .env or bunfig.toml there must not configure it.
    '--no-compile-autoload-dotenv', '--no-compile-autoload-bunfig',
    // A plugin process lives for one call: JavaScriptCore's JIT (threads, code memory) only costs
    // it. 1000x the tier-up thresholds keeps its code in the interpreter: ~10% less CPU and
    // ~3 MB less peak RSS per ADD+DEL pair (bench/results.md).
    '--compile-jit-policy=1000', '--outfile', tmp],
  { cwd: root, stdio: quiet ? 'ignore' : ['ignore', 'ignore', 'inherit'] });
  // Rewritten in small writes as `berthd install` copies it (see placeExecutable), then renamed,
  // so that nothing ever sees a half-written executable.
  const placed = `${tmp}.placed`;
  placeExecutable(tmp, placed);
  renameSync(placed, join(dist, 'berth'));
  say(`dist/berth (${(statSync(join(dist, 'berth')).size / 1e6).toFixed(1)} MB, Bun executable)`);
}

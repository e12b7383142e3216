#!/usr/bin/env node
// Builds berth. `--check-schema` refuses a stale cni-shim/src/ipamSchema.ts instead of rewriting it.
// `--js` stops after the JavaScript bundles (what `npm ci` and `npm start` need);
// without it the CNI shim is also turned into one executable file, dist/berth (Node SEA).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ipamSchemaIsFresh, SCHEMA_FILE, writeIpamSchema } from './generateIpamSchema.mjs';

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

// The shim is one self-contained CommonJS script; its message codecs come from a table generated
// from the proto (regenerated here, so it cannot drift), so the executable needs nothing from disk.
const shimEntry = join(root, 'cni-shim/src/main.ts');
if (existsSync(shimEntry)) {
  // npm test passes --check-schema: a stale committed schema fails there, before anything
  // regenerates it (the build otherwise rewrites it, and the test of it could never fail).
  if (args.has('--check-schema')) {
    if (!ipamSchemaIsFresh()) {
      process.stderr.write(`build: ${SCHEMA_FILE} is out of date with the proto: run node scripts/generateIpamSchema.mjs and commit it\n`);
      process.exit(1);
    }
  } else if (writeIpamSchema()) say(`${SCHEMA_FILE} regenerated from the proto`);
  const shimBundle = {
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logOverride: { 'empty-import-meta': 'silent' },
    logLevel: 'warning',
  };
  await build({ ...shimBundle, entryPoints: [shimEntry], outfile: join(dist, 'berth-shim.cjs') });
  say('dist/berth-shim.cjs');
  if (!jsOnly) {
    // The executable's entry, run at build time to make its startup snapshot (snapshotMain.ts).
    await build({ ...shimBundle, entryPoints: [join(root, 'cni-shim/src/snapshotMain.ts')], outfile: join(dist, 'berth-snapshot.cjs') });
    say('dist/berth-snapshot.cjs');
    buildSea();
  }
}
say(`done in ${Date.now() - started} ms`);

function buildSea() {
  const blob = join(dist, 'berth.sea-blob');
  const seaConfig = join(dist, 'sea-config.json');
  writeFileSync(seaConfig, JSON.stringify({
    main: join(dist, 'berth-snapshot.cjs'),
    output: blob,
    disableExperimentalSEAWarning: true,
    // The snapshot holds the compiled functions the warm-up ran; SEA ignores useCodeCache with it.
    useSnapshot: true,
  }));
  execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { stdio: quiet ? 'ignore' : 'inherit' });
  const tmp = join(dist, `berth.tmp-${process.pid}`);
  rmSync(tmp, { force: true });
  copyFileSync(process.execPath, tmp);
  chmodSync(tmp, 0o755);
  const postject = join(root, 'node_modules/postject/dist/cli.js');
  execFileSync(process.execPath, [postject, tmp, 'NODE_SEA_BLOB', blob,
    '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'], { stdio: 'ignore' });
  // Rename so that nothing ever sees a half-written executable.
  execFileSync('mv', ['-f', tmp, join(dist, 'berth')]);
  say(`dist/berth (${(statSync(join(dist, 'berth')).size / 1e6).toFixed(1)} MB, Node SEA)`);
}

#!/usr/bin/env node
// The code cache of the shim executable. V8 puts into a code cache only the functions compiled
// when it is taken, so this runs the shim library's warmUp (ADD, DEL, a failure and VERSION
// against recorded berthd answers) first, then takes the cache. It runs in a child `node` with no
// NODE_OPTIONS: a cache taken under other V8 flags would be rejected by the executable.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const self = fileURLToPath(import.meta.url);

/** Writes the trained cache of `libraryPath` to `cachePath`; throws if a fresh process would reject it. */
export function trainShimCodeCache(libraryPath, cachePath) {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  execFileSync(process.execPath, [self, 'train', libraryPath, cachePath], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync(process.execPath, [self, 'check', libraryPath, cachePath], { env, stdio: ['ignore', 'ignore', 'inherit'] });
}

function compile(libraryPath, cachedData) {
  // The filename is the one seaMain.ts gives, so stack traces read the same.
  return new Script(readFileSync(libraryPath, 'utf8'), { filename: basename(libraryPath), cachedData });
}

async function train(libraryPath, cachePath) {
  const script = compile(libraryPath);
  const library = { exports: {} };
  script.runInThisContext()(createRequire(self), library, library.exports);
  await library.exports.warmUp();
  writeFileSync(cachePath, script.createCachedData());
}

function check(libraryPath, cachePath) {
  if (compile(libraryPath, readFileSync(cachePath)).cachedDataRejected) {
    throw new Error(`V8 rejects the code cache ${cachePath} for ${libraryPath}`);
  }
}

if (process.argv[1] === self) {
  const [mode, libraryPath, cachePath] = process.argv.slice(2);
  if (mode === 'train') await train(libraryPath, cachePath);
  else if (mode === 'check') check(libraryPath, cachePath);
  else throw new Error('usage: shimCodeCache.mjs train|check <library.cjs> <cache>');
}

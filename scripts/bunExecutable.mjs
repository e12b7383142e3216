// Where the `bun` dev dependency's binary is. Its install script moves the binary of the matching
// @oven/bun-<platform> package to node_modules/bun/bin/bun.exe; with install scripts off
// (npm ci --ignore-scripts) it is still in the platform package.
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export function bunExecutable(root) {
  const moved = join(root, 'node_modules/bun/bin/bun.exe');
  if (existsSync(moved) && statSizeOver(moved, 1_000_000)) return moved;
  const require = createRequire(join(root, 'package.json'));
  const libc = process.platform === 'linux' && process.report?.getReport().header.glibcVersionRuntime === undefined ? '-musl' : '';
  const name = `@oven/bun-${process.platform}-${process.arch === 'arm64' ? 'aarch64' : process.arch}${libc}`;
  try {
    return require.resolve(`${name}/bin/bun`);
  } catch {
    throw new Error(`no Bun binary: neither ${moved} nor ${name} is installed; run npm ci (the plugin is compiled by the bun dev dependency)`);
  }
}

function statSizeOver(path, bytes) {
  try {
    return statSync(path).size > bytes;
  } catch {
    return false;
  }
}

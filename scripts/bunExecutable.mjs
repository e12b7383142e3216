// Where the `bun` dev dependency's binary is. Its install script moves the binary of the matching
// @oven/bun-<platform> package to node_modules/bun/bin/bun.exe; with install scripts off
// (npm ci --ignore-scripts) it is still in the platform package.
import { closeSync, existsSync, fsyncSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
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

/**
 * Moves a Bun-compiled executable from `from` to `to`, rewritten in 32 KiB writes, as `berthd
 * install` copies the plugin (PLUGIN_WRITE_BYTES in daemon/src/install/installFiles.ts): a file's
 * page-cache folios are as large as the writes that filled them, and each process executing it
 * maps whole folios, so a plugin process peaks ~5 MB lower than when it runs the file as Bun
 * wrote it (and ~23 MB lower than after 1 MiB writes).
 */
export function placeExecutable(from, to) {
  const input = openSync(from, 'r');
  const output = openSync(to, 'w', statSync(from).mode & 0o777);
  try {
    const chunk = Buffer.allocUnsafe(32 * 1024);
    for (let read = readSync(input, chunk); read > 0; read = readSync(input, chunk)) {
      for (let offset = 0; offset < read;) offset += writeSync(output, chunk, offset, read - offset);
    }
    fsyncSync(output);
  } finally {
    closeSync(input);
    closeSync(output);
  }
  rmSync(from, { force: true });
}

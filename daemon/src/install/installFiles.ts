// Installing the shim and an example conflist on a node. Every file lands by write-to-temp +
// rename in the target directory, so a runtime exec'ing the plugin never sees half a file.
import { closeSync, constants, existsSync, fchmodSync, fsyncSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

/**
 * Bytes per write when copying the plugin. The kernel keeps a file's cached pages in folios as
 * large as the writes that filled them (ext4 on Linux 6.x), and every process that executes the
 * file maps whole folios around each page it touches: the same 109 MB plugin peaked at 50.5 MB
 * RSS per invocation when copied in 1 MiB writes, 35.9 MB in one write, 27.5 MB in 32 KiB
 * writes (as after a reboot, when it is read back from disk), for ~3% more time per ADD+DEL
 * (whole-process pairs, 40 runs: 1.03x, 0.81-1.24, against the 1 MiB copy). Runtimes start many
 * plugins at once, so memory wins. scripts/build.mjs places dist/berth the same way, so the
 * benchmark measures the plugin as installed; test/install.test.ts holds it under 32 MB.
 */
export const PLUGIN_WRITE_BYTES = 32 * 1024;

export function installFileAtomically(source: string, targetDir: string, name: string, mode: number): string {
  return placeAtomically(targetDir, name, mode, (fd) => {
    const input = openSync(source, constants.O_RDONLY);
    try {
      const chunk = Buffer.allocUnsafe(PLUGIN_WRITE_BYTES);
      for (let read = readSync(input, chunk); read > 0; read = readSync(input, chunk)) writeAll(fd, chunk.subarray(0, read));
    } finally {
      closeSync(input);
    }
  });
}

export function writeFileAtomically(targetDir: string, name: string, content: string, mode: number): string {
  return placeAtomically(targetDir, name, mode, (fd) => writeAll(fd, Buffer.from(content, 'utf8')));
}

function writeAll(fd: number, data: Buffer): void {
  for (let offset = 0; offset < data.length;) offset += writeSync(fd, data, offset);
}

/**
 * The temp file has a random name and is created exclusively without following links (O_EXCL |
 * O_NOFOLLOW): another user of the directory can neither predict it nor plant a symlink there to
 * make us write through it. The mode is set on the open file, the data fsync'd before the
 * rename, and the directory fsync'd after it, so the new name survives a crash.
 */
function placeAtomically(targetDir: string, name: string, mode: number, write: (fd: number) => void): string {
  mkdirSync(targetDir, { recursive: true });
  const target = join(targetDir, name);
  const temp = join(targetDir, `.${name}.tmp-${randomBytes(8).toString('hex')}`);
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  let renamed = false;
  try {
    write(fd);
    fchmodSync(fd, mode);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temp, target);
    renamed = true;
    syncDirectory(targetDir);
  } finally {
    if (!renamed) {
      try { closeSync(fd); } catch { /* already closed */ }
      rmSync(temp, { force: true });
    }
  }
  return target;
}

function syncDirectory(path: string): void {
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface ConflistOptions {
  readonly networkName: string;
  readonly bridge: string;
  readonly pools: readonly string[];
  readonly socket: string;
}

/** An example dual-stack bridge network using berth as its IPAM. */
export function exampleConflist(options: ConflistOptions): string {
  return `${JSON.stringify({
    cniVersion: '1.0.0',
    name: options.networkName,
    plugins: [
      {
        type: 'bridge',
        bridge: options.bridge,
        isGateway: true,
        ipMasq: true,
        ipam: { type: 'berth', pools: options.pools, socket: options.socket },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  }, null, 2)}\n`;
}

export interface InstallOptions {
  readonly shimSource: string;
  readonly cniBinDir: string;
  readonly cniConfDir: string;
  readonly skipBinary: boolean;
  readonly skipConflist: boolean;
  readonly overwriteConflist: boolean;
  readonly conflist: ConflistOptions;
}

/** Returns one line per action taken, for the installer to print. */
export function installOnNode(options: InstallOptions): string[] {
  const done: string[] = [];
  if (!options.skipBinary) {
    if (!existsSync(options.shimSource)) throw new Error(`shim binary ${options.shimSource} not found (run "npm run build")`);
    done.push(`installed ${installFileAtomically(options.shimSource, options.cniBinDir, 'berth', 0o755)}`);
  }
  if (!options.skipConflist) {
    const name = `10-${options.conflist.networkName}.conflist`;
    if (existsSync(join(options.cniConfDir, name)) && !options.overwriteConflist) {
      done.push(`kept existing ${join(options.cniConfDir, name)} (--overwrite-conflist to replace it)`);
    } else {
      done.push(`wrote ${writeFileAtomically(options.cniConfDir, name, exampleConflist(options.conflist), 0o644)}`);
    }
  }
  return done;
}

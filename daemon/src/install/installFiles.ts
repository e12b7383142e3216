// Installing the shim and an example conflist on a node. Every file lands by write-to-temp +
// rename in the target directory, so a runtime exec'ing the plugin never sees half a file.
import { chmodSync, closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function installFileAtomically(source: string, targetDir: string, name: string, mode: number): string {
  mkdirSync(targetDir, { recursive: true });
  const target = join(targetDir, name);
  const temp = join(targetDir, `.${name}.tmp-${process.pid}`);
  try {
    copyFileSync(source, temp);
    chmodSync(temp, mode);
    syncFile(temp);
    renameSync(temp, target);
  } finally {
    rmSync(temp, { force: true });
  }
  return target;
}

export function writeFileAtomically(targetDir: string, name: string, content: string, mode: number): string {
  mkdirSync(targetDir, { recursive: true });
  const target = join(targetDir, name);
  const temp = join(targetDir, `.${name}.tmp-${process.pid}`);
  try {
    writeFileSync(temp, content, { mode });
    syncFile(temp);
    renameSync(temp, target);
  } finally {
    rmSync(temp, { force: true });
  }
  return target;
}

function syncFile(path: string): void {
  const fd = openSync(path, 'r');
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

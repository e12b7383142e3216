// `berthd install`: the plugin lands atomically in a CNI bin dir, the example conflist is valid.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BERTHD, SHIM } from './support/daemonProcess.ts';

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'berth-install-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const install = (...args: string[]) => spawnSync(process.execPath, [BERTHD, 'install', ...args], { encoding: 'utf8', timeout: 30_000 });

describe('berthd install', () => {
  it('copies the plugin binary executable and identical, leaving no temp file, and writes a conflist', () => {
    const bin = join(dir, 'bin');
    const conf = join(dir, 'net.d');
    writeFileSync(join(dir, 'placeholder'), '');
    const result = install('--cni-bin-dir', bin, '--cni-conf-dir', conf);
    expect(result.status, result.stderr).toBe(0);
    expect(readdirSync(bin)).toEqual(['berth']);
    expect(statSync(join(bin, 'berth')).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(bin, 'berth')).equals(readFileSync(SHIM))).toBe(true);
    const conflist = JSON.parse(readFileSync(join(conf, '10-berth.conflist'), 'utf8')) as { plugins: { ipam?: { type: string; pools: string[] } }[] };
    expect(conflist.plugins[0]?.ipam).toMatchObject({ type: 'berth', pools: ['default-v4', 'default-v6'] });
    // The installed binary runs.
    const version = spawnSync(join(bin, 'berth'), [], { input: '{"cniVersion":"1.0.0"}', env: { CNI_COMMAND: 'VERSION' }, encoding: 'utf8' });
    expect(JSON.parse(version.stdout).supportedVersions).toContain('1.1.0');
  });

  it('keeps an existing conflist unless told to overwrite, and honours the skip switches', () => {
    const conf = join(dir, 'net.d');
    install('--cni-conf-dir', conf, '--skip-binary');
    writeFileSync(join(conf, '10-berth.conflist'), 'mine');
    const kept = install('--cni-conf-dir', conf, '--skip-binary');
    expect(kept.stdout).toMatch(/kept existing/);
    expect(readFileSync(join(conf, '10-berth.conflist'), 'utf8')).toBe('mine');
    install('--cni-conf-dir', conf, '--skip-binary', '--overwrite-conflist');
    expect(readFileSync(join(conf, '10-berth.conflist'), 'utf8')).toMatch(/"type": "berth"/);
    const binOnly = install('--cni-bin-dir', join(dir, 'b2'), '--skip-conflist', '--cni-conf-dir', join(dir, 'nc'));
    expect(binOnly.status).toBe(0);
    expect(existsSync(join(dir, 'nc'))).toBe(false);
  });

  it('fails clearly when the plugin binary is missing', () => {
    const result = install('--cni-bin-dir', join(dir, 'bin'), '--skip-conflist', '--shim', join(dir, 'nope'));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/shim binary .*nope not found \(run "npm run build"\)/);
  });
});

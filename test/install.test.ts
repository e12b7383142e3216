// `berthd install`: the plugin lands atomically in a CNI bin dir, the example conflist is valid.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
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
    // Copied in small writes (PLUGIN_WRITE_BYTES), the installed plugin maps few page-cache
    // pages per fault: a process stays well under the 32 MB (the same file written in
    // 1 MiB writes peaked at ~48 MB for VERSION, ~50 MB for ADD, on this machine's kernel).
    const timed = spawnSync('/usr/bin/time', ['-f', '%M', join(bin, 'berth')], { input: '{"cniVersion":"1.0.0"}', env: { CNI_COMMAND: 'VERSION' }, encoding: 'utf8' });
    expect(timed.status, timed.stderr).toBe(0);
    const peakMb = Number(timed.stderr.trim().split('\n').at(-1)) / 1024;
    expect(peakMb).toBeGreaterThan(1);
    expect(peakMb).toBeLessThan(32);
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

  it('writes through no link planted at a temp name, and leaves only the target (random, exclusive temp names)', () => {
    const conf = join(dir, 'net.d');
    mkdirSync(conf);
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'untouched');
    // The names the old installer used: pid-based, so guessable, and followed if a link was there.
    for (let pid = 1; pid < 200; pid++) symlinkSync(victim, join(conf, `.10-berth.conflist.tmp-${pid}`));
    const result = install('--cni-conf-dir', conf, '--skip-binary');
    expect(result.status, result.stderr).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('untouched');
    expect(statSync(join(conf, '10-berth.conflist')).mode & 0o777).toBe(0o644);
    expect(readdirSync(conf).filter((name) => !name.startsWith('.10-berth.conflist.tmp-') || !/^\.10-berth\.conflist\.tmp-\d+$/.test(name)))
      .toEqual(['10-berth.conflist']);
  });
});

describe('berthd without --config', () => {
  it('refuses to start, naming the missing flag', () => {
    const result = spawnSync(process.execPath, [BERTHD, '--socket', join(dir, 's.sock'), '--db', join(dir, 'l.db'), '--metrics-addr', ''], { encoding: 'utf8', timeout: 30_000 });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('--config <path> is required');
    expect(result.stderr).toContain('--example-pools');
    expect(existsSync(join(dir, 's.sock'))).toBe(false);
  });

  it('refuses --config together with --example-pools', () => {
    writeFileSync(join(dir, 'pools.yaml'), 'pools: []\n');
    const result = spawnSync(process.execPath, [BERTHD, '--socket', join(dir, 's.sock'), '--db', join(dir, 'l.db'), '--metrics-addr', '', '--config', join(dir, 'pools.yaml'), '--example-pools'], { encoding: 'utf8', timeout: 30_000 });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('not both');
  });
});

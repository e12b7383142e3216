import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from './configError.ts';
import { DEFAULT_CONFIG_TEXT, defaultConfig } from './defaultConfig.ts';
import { loadConfigFile } from './loadConfigFile.ts';
import { allocatableIntervals, countAddresses } from './poolSize.ts';

describe('loadConfigFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-config-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads and parses a file', () => {
    const path = join(dir, 'pools.yaml');
    writeFileSync(path, DEFAULT_CONFIG_TEXT);
    expect(loadConfigFile(path).pools.map((pool) => pool.name)).toEqual(['default-v4', 'default-v6']);
  });

  it.each([
    { name: 'a missing file', file: 'missing.yaml', reason: /cannot read the configuration file: no such file or directory \(ENOENT\)$/ },
    { name: 'a directory', file: '.', reason: /cannot read the configuration file: illegal operation on a directory \(EISDIR\)$/ },
  ])('reports $name with its path and errno reason', ({ file, reason }) => {
    const path = join(dir, file);
    let error: unknown;
    try {
      loadConfigFile(path);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message.startsWith(`${path}: `)).toBe(true);
    expect((error as ConfigError).message).toMatch(reason);
  });

  it('names the file when its content is invalid', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, '{"pools": [{"name": "a", "subnet": "10.0.0.5/24"}]}');
    expect(() => loadConfigFile(path)).toThrow(`${path}: pools[0].subnet: 10.0.0.5/24 has host bits set; use 10.0.0.0/24`);
  });
});

describe('defaultConfig', () => {
  it('serves one IPv4 and one IPv6 pool with gateways and default routes', () => {
    const [v4, v6] = defaultConfig().pools;
    expect(v4).toMatchObject({ name: 'default-v4', family: 4, gateway: 0x0a580001n, routes: [{ dst: '0.0.0.0/0' }] });
    expect(v6).toMatchObject({ name: 'default-v6', family: 6, gateway: 0xfd000088000000000000000000000001n, routes: [{ dst: '::/0' }] });
    expect(countAddresses(allocatableIntervals(v4!))).toBe(65_536n - 3n);
    expect(countAddresses(allocatableIntervals(v6!))).toBe(2n ** 64n - 2n);
  });
});

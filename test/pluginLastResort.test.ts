// The plugin never ends without CNI error JSON: an exception thrown where no caller can catch it
// (a timer or socket callback while the plugin waits for berthd) still prints code 110 saying what.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/daemonProcess.ts';

const BUNDLE = join(REPO_ROOT, 'dist', 'berth-shim.cjs');

describe('the plugin with an uncaught exception while it waits for berthd', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-robust-lastresort-'));
  const socket = join(dir, 'silent.sock');
  const sockets: Socket[] = [];
  let server: Server;

  beforeAll(async () => {
    // A "daemon" that accepts and never answers: the plugin is then waiting, its event loop idle.
    server = createServer((connection) => { sockets.push(connection); });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    writeFileSync(join(dir, 'throwLater.cjs'), "setTimeout(() => { throw new RangeError('boom from a timer'); }, 300);\n");
  });
  afterAll(async () => {
    for (const connection of sockets) connection.destroy();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['throw', 'reject'])('prints CNI error JSON with code 110 (%s)', async (kind) => {
    if (kind === 'reject') writeFileSync(join(dir, 'throwLater.cjs'), "setTimeout(() => { Promise.reject(new TypeError('boom from a promise')); }, 300);\n");
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_NETNS: '/var/run/netns/x', CNI_PATH: '/opt/cni/bin' };
    const config = JSON.stringify({ cniVersion: '1.0.0', name: 'net1', ipam: { type: 'berth', pools: ['v4'], socket, timeoutSeconds: 30 } });
    const child = spawn(process.execPath, ['--require', join(dir, 'throwLater.cjs'), BUNDLE], { env });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stdin.end(config);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stdout).toBe(1);
    const error = JSON.parse(stdout) as { code: number; msg: string; cniVersion: string };
    expect(error).toMatchObject({ code: 110, cniVersion: '1.0.0' });
    expect(error.msg).toContain(kind === 'throw' ? 'boom from a timer' : 'boom from a promise');
  });
});

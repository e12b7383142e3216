// Starts the real berthd (dist/berthd.mjs) as a child process on a socket in a temp dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const BERTHD = join(REPO_ROOT, 'dist', 'berthd.mjs');
export const SHIM = join(REPO_ROOT, 'dist', 'berth');

/**
 * How long a test waits for a log line after it saw, through an RPC or an HTTP endpoint, the state
 * change that line reports. berthd writes the line before it answers (daemon/src/turnLog.ts), but
 * the test reads its stdout and the socket as two streams, and handles whichever its event loop
 * takes first.
 */
export const LOG_LINE_WAIT = { timeout: 5000, interval: 50 } as const;

export interface DaemonHandle {
  readonly dir: string;
  readonly socketPath: string;
  readonly dbPath: string;
  readonly configPath: string;
  process: ChildProcess;
  /** Everything the daemon wrote to stdout/stderr (pino JSON lines). */
  logs(): string;
  start(extraArgs?: readonly string[], startTimeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Stops and removes the temp dir. */
  dispose(): Promise<void>;
}

export const DUAL_STACK_CONFIG = `
pools:
  - name: v4
    subnet: 10.50.0.0/24
    gateway: 10.50.0.1
    routes: [{ dst: 0.0.0.0/0 }]
    dns: { nameservers: [10.50.0.53], search: [cluster.local] }
  - name: v6
    subnet: fd00:50::/64
    gateway: fd00:50::1
    routes: [{ dst: "::/0" }]
  - name: tiny
    subnet: 10.60.0.0/30
`;

export async function startDaemon(config: string = DUAL_STACK_CONFIG, extraArgs: readonly string[] = []): Promise<DaemonHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-it-'));
  const handle = createDaemon(dir, config);
  await handle.start(extraArgs);
  return handle;
}

export function createDaemon(dir: string, config: string): DaemonHandle {
  const socketPath = join(dir, 'berthd.sock');
  const dbPath = join(dir, 'leases.db');
  const configPath = join(dir, 'pools.yaml');
  writeFileSync(configPath, config);
  let output = '';
  const handle: DaemonHandle = {
    dir, socketPath, dbPath, configPath,
    process: undefined as unknown as ChildProcess,
    logs: () => output,
    async start(extraArgs = [], startTimeoutMs = 20_000) {
      const child = spawn(process.execPath, [BERTHD, '--socket', socketPath, '--db', dbPath, '--config', configPath, '--metrics-addr', '127.0.0.1:0', ...extraArgs], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      handle.process = child;
      const from = output.length;
      child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
      child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
      await waitUntil(() => output.slice(from).includes('"daemon.started"') || child.exitCode !== null, startTimeoutMs);
      if (child.exitCode !== null) throw new Error(`berthd exited with ${child.exitCode}:\n${output}`);
    },
    async stop(signal = 'SIGTERM') {
      const child = handle.process;
      if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
      const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
      child.kill(signal);
      return exited;
    },
    async dispose() {
      await handle.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return handle;
}

export async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function shimBuilt(): boolean {
  return existsSync(SHIM);
}

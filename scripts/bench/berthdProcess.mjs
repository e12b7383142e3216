// Starts the built daemon (dist/berthd.mjs) on a socket and database of its own, measures its
// start time (spawn -> "daemon.started" log line) and reads its memory from /proc.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitForLine } from './processLines.mjs';
import { msSince } from './stats.mjs';
import { DIST } from './paths.mjs';

export const BERTHD = join(DIST, 'berthd.mjs');

/** Pools every bench daemon serves: the scale pools and a /16 the shim round trip shares with host-local. */
export const BENCH_POOLS = {
  v4: { name: 'bench-v4', subnet: '10.0.0.0/8', gateway: '10.0.0.1', family: 4 },
  v6: { name: 'bench-v6', subnet: 'fd00:b::/64', gateway: 'fd00:b::1', family: 6 },
  shim: { name: 'shim-v4', subnet: '172.20.0.0/16', gateway: '172.20.0.1', family: 4 },
};

export function writeBenchConfig(path) {
  const pools = Object.values(BENCH_POOLS).map((pool) =>
    `  - name: ${pool.name}\n    subnet: "${pool.subnet}"\n    gateway: "${pool.gateway}"\n    routes: [{ dst: "${pool.family === 4 ? '0.0.0.0/0' : '::/0'}" }]\n`);
  writeFileSync(path, `pools:\n${pools.join('')}`);
}

/**
 * Spawns berthd and resolves once it logs daemon.started. `extraNodeArgs` go before the script
 * (e.g. --cpu-prof); `extraArgs` after berthd's own (e.g. the cluster flags). The daemon's own stale-lease cleaner and metrics endpoint stay on, as in production.
 */
export async function startBerthd({ dir, socketPath, dbPath, configPath, extraNodeArgs = [], extraArgs = [], env = process.env, timeoutMs = 120_000, berthdPath = BERTHD }) {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [...extraNodeArgs, berthdPath, '--socket', socketPath, '--db', dbPath, '--config', configPath,
    '--metrics-addr', '127.0.0.1:0', '--log-level', 'info', ...extraArgs], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const startedLine = JSON.parse(await waitForLine(child, '"daemon.started"', timeoutMs));
  const startMs = msSince(started);
  return {
    child,
    socketPath,
    /** Wall time from spawn to the daemon.started line, as a supervisor sees it. */
    startMs,
    /** The daemon's own startMs (from opening the store to serving). */
    reportedStartMs: startedLine.startMs,
    leases: startedLine.leases,
    metricsUrl: startedLine.metrics,
    memory: () => readProcMemory(child.pid),
    stop: () => stopProcess(child),
  };
}

/** VmRSS (resident now) and VmHWM (peak resident) of a process, in MB. */
export function readProcMemory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}

let clockTicksPerSecond;

/** CPU seconds (user + system, all threads) a process has used so far, from /proc/<pid>/stat. */
export function readProcCpuSeconds(pid) {
  clockTicksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').at(-1).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
}

/** SIGTERM, then SIGKILL if it has not exited within a few seconds. */
export function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    child.kill('SIGTERM');
  });
}

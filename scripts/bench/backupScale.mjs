// Section 4b: backup and restore at scale. berthctl export of a daemon holding N leases (ListLeases
// pages, streamed to a file), then berthctl import of that file into a daemon with none
// (ImportLeasesStream, one transaction). Each is timed as an operator runs it (the whole berthctl
// process), with the serving berthd's peak RSS (VmHWM: start-up included) read from /proc. While
// the import runs, one ADD every 100 ms (in another pool) measures how long writes wait behind it.
import { credentials } from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_POOLS, readProcMemory, startBerthd } from './berthdProcess.mjs';
import { fillLeaseDb, parseIpv4 } from './leaseDbFill.mjs';
import { loadIpamPackage } from './ipamProto.mjs';
import { DIST } from './paths.mjs';
import { msSince, percentile, round } from './stats.mjs';

const BERTHCTL = join(DIST, 'berthctl.mjs');

export async function benchBackup({ workDir, templateDb, configPath, profile, log }) {
  const leases = profile.backupLeases;
  const dir = join(workDir, 'backup');
  mkdirSync(dir, { recursive: true });
  const sourceDb = join(dir, 'source.db');
  fillLeaseDb(templateDb, sourceDb, { pool: BENCH_POOLS.v4.name, family: 4, first: parseIpv4('10.0.0.2'), count: leases });
  const file = join(dir, 'backup.json');

  const source = await startBerthd({ dir, socketPath: join(dir, 'source.sock'), dbPath: sourceDb, configPath });
  let exported;
  try {
    exported = await timedBerthctl(source, ['export', '--output', file]);
  } finally {
    await source.stop();
  }
  log(`backup: exported ${leases} leases in ${Math.round(exported.ms)} ms (berthd peak RSS ${Math.round(exported.berthdPeakRssMb)} MB)`);

  const targetDb = join(dir, 'target.db');
  copyFileSync(templateDb, targetDb);
  const target = await startBerthd({ dir, socketPath: join(dir, 'target.sock'), dbPath: targetDb, configPath });
  let imported;
  let adds;
  try {
    const probe = addProbe(target.socketPath);
    try {
      imported = await timedBerthctl(target, ['--timeout', '600', 'import', file]);
    } finally {
      adds = await probe.stop();
    }
  } finally {
    await target.stop();
  }
  log(`backup: imported ${leases} leases in ${Math.round(imported.ms)} ms (berthd peak RSS ${Math.round(imported.berthdPeakRssMb)} MB): ${imported.stdout.trim()}`);
  log(`backup: ${adds.count} ADDs during the import: median ${adds.medianMs} ms, p99 ${adds.p99Ms} ms, max ${adds.maxMs} ms, ${adds.failed} failed`);
  const importedCount = Number(/^imported (\d+) lease/.exec(imported.stdout)?.[1] ?? NaN);
  if (importedCount !== leases) throw new Error(`berthctl import restored ${importedCount} of ${leases} leases: ${imported.stdout}${imported.stderr}`);
  return {
    leases,
    fileMb: round(statSync(file).size / 1024 / 1024, 1),
    export: { ms: round(exported.ms, 0), berthdPeakRssMb: round(exported.berthdPeakRssMb, 1) },
    import: { ms: round(imported.ms, 0), berthdPeakRssMb: round(imported.berthdPeakRssMb, 1) },
    addsDuringImport: adds,
  };
}

/** One ADD every 100 ms (one at a time, in the IPv6 pool the import does not touch) until stopped: their latencies. */
function addProbe(socketPath) {
  const { ipam } = loadIpamPackage();
  const client = new ipam.Ipam(`unix://${socketPath}`, credentials.createInsecure());
  const latencies = [];
  let failed = 0;
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const started = process.hrtime.bigint();
      const ok = await new Promise((resolve) => client.Allocate({ containerId: `probe-${i}`, ifname: 'eth0', pools: [BENCH_POOLS.v6.name], network: 'benchnet' },
        { deadline: Date.now() + 600_000 }, (error) => resolve(!error)));
      latencies.push(msSince(started));
      if (!ok) failed++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      client.close();
      const sorted = [...latencies].sort((a, b) => a - b);
      return { count: sorted.length, failed, medianMs: round(percentile(sorted, 50), 1), p99Ms: round(percentile(sorted, 99), 1), maxMs: round(sorted.at(-1) ?? 0, 0) };
    },
  };
}

/** Runs berthctl against a daemon to its end; fails on a non-zero exit. */
function timedBerthctl(daemon, args) {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [BERTHCTL, '--socket', daemon.socketPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = msSince(started);
      if (code !== 0) reject(new Error(`berthctl ${args.join(' ')} exited ${code}: ${stderr}`));
      else resolve({ ms, stdout, stderr, berthdPeakRssMb: readProcMemory(daemon.child.pid).peakRssMb });
    });
  });
}

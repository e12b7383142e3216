// --cpu-prof: a separate pass after the measured sections (profiling slows the daemon, so no
// reported figure comes from a profiled process). Profiles berthd under load at the highest
// concurrency, while starting on the largest pre-filled IPv4 database, and serving Allocate at
// concurrency 1 on that database (the scale target).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_POOLS, startBerthd } from './berthdProcess.mjs';
import { summarizeCpuProfiles } from './cpuProfileSummary.mjs';
import { fillLeaseDb } from './leaseDbFill.mjs';
import { runLoadClient } from './loadRun.mjs';
import { FAMILIES } from './scaleLatency.mjs';
import { formatCount } from './targets.mjs';

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

export async function profileDaemon({ workDir, templateDb, configPath, profile, log, profileDir }) {
  const args = (name) => ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, name)}`];
  const windows = {};
  const profiled = async (name, dir, dbPath, load) => {
    const daemon = await startBerthd({ dir, socketPath: join(dir, 'berthd.sock'), dbPath, configPath, extraNodeArgs: args(name) });
    try {
      if (load) {
        const fromUs = nowUs();
        await load(daemon);
        windows[name] = { fromUs, toUs: nowUs() };
      }
    } finally {
      await daemon.stop();
    }
  };

  const concurrency = Math.max(...profile.concurrency);
  const loadDir = join(workDir, 'profile-load');
  mkdirSync(loadDir, { recursive: true });
  fillLeaseDb(templateDb, join(loadDir, 'leases.db'), { pool: BENCH_POOLS.v4.name, family: 4, first: FAMILIES[0].first, count: 0 });
  log(`cpu profile: berthd under load at ${concurrency} in flight`);
  await profiled(`load-${concurrency}`, loadDir, join(loadDir, 'leases.db'), (daemon) => runLoadClient({
    targets: [{ name: 'berth', socket: daemon.socketPath }], concurrency, rounds: 1, roundMs: profile.throughputRoundMs, warmupMs: 0, pool: BENCH_POOLS.v4.name,
  }));

  const leases = Math.max(...profile.scaleLeases);
  const scaleDir = join(workDir, 'profile-scale');
  mkdirSync(scaleDir, { recursive: true });
  fillLeaseDb(templateDb, join(scaleDir, 'leases.db'), { pool: BENCH_POOLS.v4.name, family: 4, first: FAMILIES[0].first, count: leases });
  log(`cpu profile: berthd start with ${leases} leases`);
  await profiled(`start-${formatCount(leases)}`, scaleDir, join(scaleDir, 'leases.db'));
  log(`cpu profile: berthd Allocate+Release at concurrency 1 with ${leases} leases`);
  await profiled(`allocate-${formatCount(leases)}-c1`, scaleDir, join(scaleDir, 'leases.db'), (daemon) => runLoadClient({
    targets: [{ name: 'berth', socket: daemon.socketPath }], concurrency: 1, rounds: 1, roundPairs: profile.latencyRounds * profile.latencyPairs, warmupMs: 0, pool: BENCH_POOLS.v4.name,
  }));
  return summarizeCpuProfiles(profileDir, windows);
}

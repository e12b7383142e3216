// Section 3 (and the daemon half of section 4): Allocate latency, start time and memory with
// 0 .. 1M live leases in an IPv4 /8 and an IPv6 /64. Each size gets its own pre-filled database;
// start time is measured by restarting each daemon in turn, latency by one client at
// concurrency 1 that alternates between the sizes round by round.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_POOLS, startBerthd } from './berthdProcess.mjs';
import { fillLeaseDb, parseIpv4, parseIpv6Prefix } from './leaseDbFill.mjs';
import { histogramDelta, scrapeMetrics, secondsToMs } from './metricsScrape.mjs';
import { runLoadClient } from './loadRun.mjs';
import { msSince, pairedRatio, round, summarize } from './stats.mjs';
import { summarizeRounds } from './daemonThroughput.mjs';

export const FAMILIES = [
  { key: 'ipv4', pool: BENCH_POOLS.v4, first: parseIpv4('10.0.0.2') },
  { key: 'ipv6', pool: BENCH_POOLS.v6, first: parseIpv6Prefix('fd00:b::') + 2n },
];

export async function benchScale({ workDir, templateDb, configPath, profile, log }) {
  const families = [];
  for (const family of FAMILIES) families.push(await benchFamily({ workDir, templateDb, configPath, profile, log, family }));
  return { layout: 'one lease every other address from the start of the pool (one held run per lease: the worst case for the in-memory index)', families };
}

async function benchFamily({ workDir, templateDb, configPath, profile, log, family }) {
  const sizes = profile.scaleLeases.map((leases) => {
    const dir = join(workDir, `scale-${family.key}-${leases}`);
    mkdirSync(dir, { recursive: true });
    const started = process.hrtime.bigint();
    const dbPath = join(dir, 'leases.db');
    fillLeaseDb(templateDb, dbPath, { pool: family.pool.name, family: family.pool.family, first: family.first, count: leases });
    log(`scale ${family.key}: pre-filled ${leases} leases in ${Math.round(msSince(started))} ms`);
    return { leases, dir, dbPath, socketPath: join(dir, 'berthd.sock'), starts: [], reportedStarts: [], rssAtStart: [] };
  });
  const start = (size) => startBerthd({ dir: size.dir, socketPath: size.socketPath, dbPath: size.dbPath, configPath });

  // Start time and RSS right after start: restart each size in turn, repeatedly.
  for (let rep = 0; rep < profile.startRepeats; rep++) {
    for (const size of sizes) {
      const daemon = await start(size);
      if (daemon.leases !== size.leases) throw new Error(`berthd reports ${daemon.leases} leases, expected ${size.leases}`);
      size.starts.push(daemon.startMs);
      size.reportedStarts.push(daemon.reportedStartMs);
      size.rssAtStart.push(daemon.memory().rssMb);
      await daemon.stop();
    }
  }
  log(`scale ${family.key}: start times measured (${profile.startRepeats} starts per size)`);

  // Allocate latency: all sizes serving at once, one client alternating between them.
  const daemons = [];
  try {
    for (const size of sizes) daemons.push(await start(size));
    const before = await Promise.all(daemons.map((d) => scrapeMetrics(d.metricsUrl)));
    const rounds = await runLoadClient({
      targets: sizes.map((size, i) => ({ name: String(size.leases), socket: daemons[i].socketPath })),
      concurrency: 1, rounds: profile.latencyRounds, roundPairs: profile.latencyPairs, warmupMs: profile.latencyWarmupMs, pool: family.pool.name,
    });
    const after = await Promise.all(daemons.map((d) => scrapeMetrics(d.metricsUrl)));
    const baseline = rounds[String(sizes[0].leases)];
    const bySize = sizes.map((size, i) => {
      const own = rounds[String(size.leases)];
      const memory = daemons[i].memory();
      return {
        leases: size.leases,
        startMs: summarize(size.starts),
        daemonReportedStartMs: summarize(size.reportedStarts),
        rssAtStartMb: summarize(size.rssAtStart),
        rssAfterLoadMb: round(memory.rssMb, 1),
        peakRssMb: round(memory.peakRssMb, 1),
        client: summarizeRounds(own),
        allocateP50VsEmpty: pairedRatio(own.map((r) => r.allocateMs.p50), baseline.map((r) => r.allocateMs.p50)),
        allocateMeanVsEmpty: pairedRatio(own.map((r) => r.allocateMs.mean), baseline.map((r) => r.allocateMs.mean)),
        insideDaemon: {
          allocate: secondsToMs(histogramDelta(before[i], after[i], 'berth_rpc_duration_seconds', { method: 'Allocate' })),
          commit: secondsToMs(histogramDelta(before[i], after[i], 'berth_store_commit_duration_seconds')),
        },
      };
    });
    log(`scale ${family.key}: latency measured`);
    return { family: family.key, pool: family.pool, rounds: profile.latencyRounds, pairsPerRound: profile.latencyPairs, sizes: bySize };
  } finally {
    await Promise.all(daemons.map((d) => d.stop()));
  }
}

// Section 2: Allocate+Release pairs over the real socket from a separate client process, at
// several concurrencies, beside a plain grpc-js echo server (the transport ceiling) measured by
// the same client in the same rounds.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_POOLS, readProcCpuSeconds, startBerthd, stopProcess } from './berthdProcess.mjs';
import { histogramDelta, scrapeMetrics, secondsToMs } from './metricsScrape.mjs';
import { runLoad, startEchoServer } from './loadRun.mjs';
import { pairedRatio, round, summarize } from './stats.mjs';

export async function benchDaemonThroughput({ workDir, templateDb, configPath, profile, log, daemonNodeArgs = [] }) {
  const dir = join(workDir, 'throughput');
  mkdirSync(dir, { recursive: true });
  const dbPath = join(dir, 'leases.db');
  copyFileSync(templateDb, dbPath);
  const echo = await startEchoServer(join(dir, 'echo.sock'));
  const berth = await startBerthd({ dir, socketPath: join(dir, 'berthd.sock'), dbPath, configPath, extraNodeArgs: daemonNodeArgs });
  try {
    const levels = [];
    for (const concurrency of profile.concurrency) {
      log(`daemon throughput: concurrency ${concurrency}, ${profile.throughputRounds} rounds of ${profile.throughputRoundMs} ms per server`);
      const before = await scrapeMetrics(berth.metricsUrl);
      const cpuBefore = { echo: readProcCpuSeconds(echo.pid), berth: readProcCpuSeconds(berth.child.pid) };
      const load = await runLoad({
        targets: [{ name: 'echo', socket: join(dir, 'echo.sock') }, { name: 'berth', socket: berth.socketPath }],
        concurrency, rounds: profile.throughputRounds, roundMs: profile.throughputRoundMs, warmupMs: profile.throughputWarmupMs, pool: BENCH_POOLS.v4.name,
      });
      const cpuAfter = { echo: readProcCpuSeconds(echo.pid), berth: readProcCpuSeconds(berth.child.pid) };
      const after = await scrapeMetrics(berth.metricsUrl);
      const rounds = load.targets;
      levels.push({
        concurrency,
        echo: summarizeRounds(rounds.echo),
        berth: summarizeRounds(rounds.berth),
        ratios: {
          callsPerSecVsEcho: pairedRatio(rounds.berth.map((r) => r.callsPerSec), rounds.echo.map((r) => r.callsPerSec)),
          p50VsEcho: pairedRatio(rounds.berth.map((r) => r.callMs.p50), rounds.echo.map((r) => r.callMs.p50)),
          p99VsEcho: pairedRatio(rounds.berth.map((r) => r.callMs.p99), rounds.echo.map((r) => r.callMs.p99)),
        },
        insideDaemon: {
          allocate: secondsToMs(histogramDelta(before, after, 'berth_rpc_duration_seconds', { method: 'Allocate' })),
          release: secondsToMs(histogramDelta(before, after, 'berth_rpc_duration_seconds', { method: 'Release' })),
          commit: secondsToMs(histogramDelta(before, after, 'berth_store_commit_duration_seconds')),
          meanCommitBatch: round(histogramDelta(before, after, 'berth_store_commit_batch_size').mean ?? NaN, 1),
          // V8 pauses while the rounds ran (prom-client's default metrics): the usual source of the tail.
          gcMajor: gcPauses(before, after, 'major'),
          gcMinor: gcPauses(before, after, 'minor'),
        },
        cpu: {
          echo: cpuShares(rounds.echo, load.warmupPairs.echo, cpuAfter.echo - cpuBefore.echo),
          berth: cpuShares(rounds.berth, load.warmupPairs.berth, cpuAfter.berth - cpuBefore.berth),
        },
      });
    }
    const budget = await measureWorkBudget({ dir, profile, log, echo, berth, top: levels.at(-1) });
    return { durability: 'berthd as shipped: WAL, synchronous=FULL, one fsync per group commit', pool: BENCH_POOLS.v4, rounds: profile.throughputRounds, roundMs: profile.throughputRoundMs, levels, budget };
  } finally {
    await Promise.all([berth.stop(), stopProcess(echo)]);
  }
}

/** Busy work per call given to the echo server in the yardstick rows, besides berthd's own excess. */
export const BUDGET_BUSY_US = [25, 50, 100];

/**
 * What per-call CPU work costs at the top concurrency: the echo server made to do N µs of CPU work
 * per call (echoServer.mjs), for a few N and for berthd's own CPU per call above echo's, measured by
 * the same client in the same interleaved rounds as bare echo and berthd. If the echo server doing
 * berthd's excess as pure CPU lands where berthd does, berthd's gap is its CPU per call, not waiting.
 */
async function measureWorkBudget({ dir, profile, log, echo, berth, top }) {
  const excessUs = Math.max(1, Math.round(top.cpu.berth.serverCpuUsPerCall - top.cpu.echo.serverCpuUsPerCall));
  const busyList = [...new Set([...BUDGET_BUSY_US, excessUs])].sort((a, b) => a - b);
  log(`daemon throughput: work budget at concurrency ${top.concurrency}: echo doing ${busyList.join(', ')} µs of CPU work per call`);
  const busyServers = [];
  try {
    for (const busyUs of busyList) busyServers.push({ busyUs, name: `echo+${busyUs}`, socket: join(dir, `echo-busy-${busyUs}.sock`), child: await startEchoServer(join(dir, `echo-busy-${busyUs}.sock`), busyUs) });
    const servers = [{ name: 'echo', socket: join(dir, 'echo.sock'), pid: echo.pid, busyUs: 0 }, ...busyServers.map((s) => ({ ...s, pid: s.child.pid })),
      { name: 'berth', socket: berth.socketPath, pid: berth.child.pid, busyUs: null }];
    const cpuBefore = servers.map((s) => readProcCpuSeconds(s.pid));
    const load = await runLoad({
      targets: servers.map(({ name, socket }) => ({ name, socket })),
      concurrency: top.concurrency, rounds: profile.throughputRounds, roundMs: profile.throughputRoundMs, warmupMs: profile.throughputWarmupMs, pool: BENCH_POOLS.v4.name,
    });
    const rows = servers.map((server, i) => {
      const rounds = load.targets[server.name];
      return {
        name: server.name, busyUs: server.busyUs,
        cpu: cpuShares(rounds, load.warmupPairs[server.name], readProcCpuSeconds(server.pid) - cpuBefore[i]),
        callsPerSec: summarize(rounds.map((r) => r.callsPerSec)),
        callP99Ms: summarize(rounds.map((r) => r.callMs.p99)),
        callsPerSecVsEcho: pairedRatio(rounds.map((r) => r.callsPerSec), load.targets.echo.map((r) => r.callsPerSec)),
        p99VsEcho: pairedRatio(rounds.map((r) => r.callMs.p99), load.targets.echo.map((r) => r.callMs.p99)),
      };
    });
    return { concurrency: top.concurrency, berthExcessUs: excessUs, rows };
  } finally {
    await Promise.all(busyServers.map((s) => stopProcess(s.child)));
  }
}

/** Medians (min/max) over rounds of each round's throughput and latency percentiles. */
export function summarizeRounds(rounds) {
  const pick = (fn) => summarize(rounds.map(fn));
  return {
    pairsPerSec: pick((r) => r.pairsPerSec),
    callsPerSec: pick((r) => r.callsPerSec),
    callP50Ms: pick((r) => r.callMs.p50),
    callP99Ms: pick((r) => r.callMs.p99),
    allocateP50Ms: pick((r) => r.allocateMs.p50),
    allocateP99Ms: pick((r) => r.allocateMs.p99),
    releaseP50Ms: pick((r) => r.releaseMs.p50),
    releaseP99Ms: pick((r) => r.releaseMs.p99),
  };
}

/**
 * Who was busy while one server was measured: the server's own CPU per call (its /proc counters
 * over its rounds and warm-up; the other server idles meanwhile) and the client's, each also as a
 * share of one core at the measured rate. Neither near 1 means the two took turns.
 */
function cpuShares(rounds, warmupPairs, serverCpuSeconds) {
  const calls = 2 * (warmupPairs + rounds.reduce((sum, r) => sum + r.pairs, 0));
  const serverCpuUsPerCall = round((serverCpuSeconds * 1e6) / Math.max(1, calls), 1);
  const callsPerSec = summarize(rounds.map((r) => r.callsPerSec)).median;
  return {
    serverCpuUsPerCall,
    serverBusy: round((serverCpuUsPerCall * callsPerSec) / 1e6, 2),
    clientCpuUsPerCall: summarize(rounds.map((r) => r.clientCpuUsPerCall)).median,
    clientBusy: summarize(rounds.map((r) => r.clientBusy)).median,
  };
}

/** How often berthd paused for one kind of garbage collection between two scrapes, and for how long. */
function gcPauses(before, after, kind) {
  const delta = histogramDelta(before, after, 'nodejs_gc_duration_seconds', { kind });
  return { count: delta.count, meanMs: delta.mean === null ? null : round(delta.mean * 1000, 2), totalMs: delta.mean === null ? 0 : round(delta.mean * delta.count * 1000, 1) };
}

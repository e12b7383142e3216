// The targets, checked against one run's results. Each entry says what was compared, the
// figure, and met (true/false) or null when that part was not measured in this run.

/** 1.1× the 104 MB of the Node single executable the plugin was before. */
const EXECUTABLE_LIMIT_MB = 114.4;

const ms = (value) => `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;

export function evaluateTargets(results) {
  const { shim, throughput, scale, backup, cluster } = results.sections;
  const targets = [];
  const add = (target, measured, limit, compare, figure, unit = '×') => {
    const value = measured ?? null;
    targets.push({ target, value, unit, limit: `${compare.symbol} ${limit}${unit}`, met: value === null ? null : compare.holds(value, limit), figure });
  };

  if (shim) {
    const peers = shim.peers;
    add('plugin ADD+DEL ≤ 2.5× host-local\'s pair, empty stores', peers.ratios.berthPairVsHostLocal?.median, 2.5, atMost,
      `${ms(peers.berthPairMs.median)} vs ${peers.hostLocalPairMs ? ms(peers.hostLocalPairMs.median) : '–'}`);
    add('plugin VERSION ≤ 3× host-local\'s VERSION', peers.ratios.berthVersionVsHostLocal?.median, 3, atMost,
      `${ms(peers.berthVersionMs.median)} vs ${peers.hostLocalVersionMs ? ms(peers.hostLocalVersionMs.median) : '–'}`);
    for (const size of shim.leaseScale.berth.filter((s) => s.leases >= 500)) {
      const peer = shim.leaseScale.hostLocal?.find((s) => s.leases === size.leases);
      add(`plugin ADD+DEL at ${formatCount(size.leases)} leases faster than host-local's (< 1×)`, size.pairVsHostLocal?.median, 1, below,
        `${ms(size.pairMs.median)} vs ${peer ? ms(peer.pairMs.median) : '–'}`);
    }
    const largest = shim.leaseScale.berth.at(-1);
    add(`plugin ADD with ${formatCount(largest.leases)} leases ≤ 1.05× with none`, largest.leases > 0 ? largest.addVsEmpty.median : null, 1.05, atMost,
      `${ms(largest.addMs.median)} vs ${ms(shim.leaseScale.berth[0].addMs.median)}`);
    const rss = [shim.peakRss.berthAddMb, shim.peakRss.berthDelMb].filter(Boolean).map((s) => s.max);
    add('plugin peak RSS ≤ 32 MB (largest of ADD and DEL runs)', rss.length > 0 ? Math.max(...rss) : null, 32, atMost, 'whole process, kernel ru_maxrss', ' MB');
    add(`plugin executable ≤ ${EXECUTABLE_LIMIT_MB} MB (1.1× the Node executable's 104 MB)`, Math.round(shim.executableBytes / 1e5) / 10, EXECUTABLE_LIMIT_MB, atMost,
      `${shim.executableBytes} bytes`, ' MB');
  }
  if (throughput) {
    const level = throughput.levels.at(-1);
    add(`berthd calls/s at ${level.concurrency} in flight ≥ 0.9× grpc-js echo`, level.ratios.callsPerSecVsEcho.median, 0.9, atLeast,
      `${Math.round(level.berth.callsPerSec.median)} vs ${Math.round(level.echo.callsPerSec.median)} calls/s`);
    add(`berthd p99 at ${level.concurrency} in flight ≤ 1.0× echo p99`, level.ratios.p99VsEcho.median, 1.0, atMost,
      `${ms(level.berth.callP99Ms.median)} vs ${ms(level.echo.callP99Ms.median)}`);
  }
  for (const family of scale?.families ?? []) {
    const empty = family.sizes[0];
    const largest = family.sizes.at(-1);
    const n = formatCount(largest.leases);
    add(`Allocate latency (client, p50) at ${n} leases ≤ 1.2× at 0, ${family.family}`, largest.allocateP50VsEmpty.median, 1.2, atMost,
      `${ms(largest.client.allocateP50Ms.median)} vs ${ms(empty.client.allocateP50Ms.median)}`);
    const inside = empty.insideDaemon.allocate.meanMs ? largest.insideDaemon.allocate.meanMs / empty.insideDaemon.allocate.meanMs : null;
    add(`Allocate latency (inside berthd, mean) at ${n} leases ≤ 1.2× at 0, ${family.family}`, inside === null ? null : Math.round(inside * 1000) / 1000, 1.2, atMost,
      `${ms(largest.insideDaemon.allocate.meanMs)} vs ${ms(empty.insideDaemon.allocate.meanMs)}`);
    add(`berthd start with ${n} leases < 5 s, ${family.family}`, largest.startMs.median / 1000, 5, below, `${ms(largest.startMs.median)} spawn → serving`, ' s');
    const rss = Math.max(largest.rssAtStartMb.median, largest.rssAfterLoadMb);
    add(`berthd RSS with ${n} leases < 200 MB, ${family.family}`, rss, 200, below, `larger of at start and after the latency rounds`, ' MB');
  }
  if (backup) {
    const n = formatCount(backup.leases);
    add(`berthctl export of ${n} leases < 60 s`, backup.export.ms / 1000, 60, below, `${fixedSeconds(backup.export.ms)} for a ${backup.fileMb} MB file`, ' s');
    add(`berthd RSS during export of ${n} leases < 300 MB`, backup.export.berthdPeakRssMb, 300, below, 'peak (VmHWM), start-up included', ' MB');
    add(`berthctl import of ${n} leases < 60 s`, backup.import.ms / 1000, 60, below, `${fixedSeconds(backup.import.ms)}, one transaction`, ' s');
    add(`berthd RSS during import of ${n} leases < 300 MB`, backup.import.berthdPeakRssMb, 300, below, 'peak (VmHWM), start-up included', ' MB');
  }
  if (cluster) {
    // The serving path with a block already owned: the ratio of paired Allocate p50s per round;
    // at 1 in flight the two daemons alternate call by call (drift cancels best), above it by round.
    const add1 = cluster.addVsFile;
    const claims = `${add1.claimsDuringRounds} claims during the rounds`;
    add('cluster-mode ADD ≤ 1.05× file-mode ADD (Allocate p50, 1 in flight, calls alternating, owned free block)', add1.byCall.ratios.allocateP50.median, 1.05, atMost,
      `${ms(add1.byCall.cluster.allocateP50Ms.median)} vs ${ms(add1.byCall.file.allocateP50Ms.median)}; ${claims}`);
    for (const level of add1.levels.filter((l) => l.concurrency > 1)) {
      add(`cluster-mode ADD ≤ 1.05× file-mode ADD (Allocate p50, ${level.concurrency} in flight, interleaved rounds, owned free block)`, level.ratios.allocateP50.median, 1.05, atMost,
        `${ms(level.cluster.allocateP50Ms.median)} vs ${ms(level.file.allocateP50Ms.median)}; ${claims}`);
    }
  }
  return targets;
}

const fixedSeconds = (value) => `${(value / 1000).toFixed(1)} s`;

const atMost = { symbol: '≤', holds: (value, limit) => value <= limit };
const atLeast = { symbol: '≥', holds: (value, limit) => value >= limit };
const below = { symbol: '<', holds: (value, limit) => value < limit };

export function formatCount(n) {
  if (n >= 1_000_000 && n % 1_000_000 === 0) return `${n / 1_000_000}M`;
  if (n >= 1000 && n % 1000 === 0) return `${n / 1000}k`;
  return String(n);
}

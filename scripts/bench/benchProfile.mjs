// Command line and the sizes each mode runs at. Default fits in a few minutes on 2 cores;
// --quick exercises every code path at tiny sizes (the test suite's smoke run); --full repeats more.

const PROFILES = {
  quick: {
    shimRounds: 2, shimScaleRounds: 1, shimLeases: [0, 60, 200], rssRuns: 1,
    concurrency: [1, 16, 64], throughputRounds: 1, throughputRoundMs: 150, throughputWarmupMs: 50,
    scaleLeases: [0, 1000, 5000], startRepeats: 1, latencyRounds: 1, latencyPairs: 20, latencyWarmupMs: 50,
    backupLeases: 20_000,
    clusterEtcdMembers: 3, simNodes: 60, simClients: 4, simConcurrency: 20, simSubnet: '10.0.0.0/16', simClaims: 20,
    clusterAddConcurrency: [1, 16], clusterAddRounds: 1, clusterAddRoundMs: 150, clusterAddWarmupMs: 50,
    churnCycles: 100, churnSettleMs: 0, clusterNodes: 3, clusterPerNode: 2, clusterWideRounds: 1, clusterWideRoundMs: 300,
  },
  default: {
    shimRounds: 30, shimScaleRounds: 25, shimLeases: [0, 500, 6000, 20_000], rssRuns: 5,
    concurrency: [1, 16, 64], throughputRounds: 5, throughputRoundMs: 2000, throughputWarmupMs: 1000,
    scaleLeases: [0, 100_000, 1_000_000], startRepeats: 3, latencyRounds: 5, latencyPairs: 100, latencyWarmupMs: 500,
    backupLeases: 1_000_000,
    clusterEtcdMembers: 3, simNodes: 5000, simClients: 50, simConcurrency: 200, simSubnet: '10.0.0.0/12', simClaims: 200,
    // Many short rounds: on a shared machine the two daemons' figures are paired closer in time.
    clusterAddConcurrency: [1, 16], clusterAddRounds: 15, clusterAddRoundMs: 800, clusterAddWarmupMs: 500,
    // 11 s: a usage report pending at the end of a pattern is written within 10 s and counted.
    churnCycles: 1000, churnSettleMs: 11_000, clusterNodes: 20, clusterPerNode: 4, clusterWideRounds: 4, clusterWideRoundMs: 3000,
  },
  full: {
    shimRounds: 60, shimScaleRounds: 50, shimLeases: [0, 500, 6000, 20_000], rssRuns: 9,
    concurrency: [1, 16, 64], throughputRounds: 9, throughputRoundMs: 3000, throughputWarmupMs: 1000,
    scaleLeases: [0, 100_000, 1_000_000], startRepeats: 5, latencyRounds: 9, latencyPairs: 200, latencyWarmupMs: 500,
    backupLeases: 1_000_000,
    clusterEtcdMembers: 3, simNodes: 5000, simClients: 50, simConcurrency: 200, simSubnet: '10.0.0.0/12', simClaims: 500,
    clusterAddConcurrency: [1, 16], clusterAddRounds: 25, clusterAddRoundMs: 1000, clusterAddWarmupMs: 500,
    churnCycles: 1000, churnSettleMs: 11_000, clusterNodes: 20, clusterPerNode: 4, clusterWideRounds: 6, clusterWideRoundMs: 3000,
  },
};

export const SECTIONS = ['shim', 'throughput', 'scale', 'backup', 'cluster'];

const USAGE = `usage: node scripts/bench/run.mjs [--quick | --full] [--out <dir>] [--sections ${SECTIONS.join(',')}] [--cpu-prof]
  --quick      tiny sizes, one round: checks that every path runs (used by the test suite)
  --full       more rounds than the default, for tighter min/max
  --out        where results.json and results.md go (default: bench/)
  --sections   run only these sections
  --cpu-prof   also write V8 CPU profiles of berthd (1M-lease start, throughput at the highest
               concurrency) into <out>/profiles and summarise where the time goes`;

export function parseBenchArgs(argv) {
  const options = { mode: 'default', out: undefined, sections: SECTIONS, cpuProf: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick' || arg === '--full') options.mode = arg.slice(2);
    else if (arg === '--out') options.out = required(argv[++i], arg);
    else if (arg === '--sections') options.sections = parseSections(required(argv[++i], arg));
    else if (arg === '--cpu-prof') options.cpuProf = true;
    else if (arg === '--help' || arg === '-h') return { help: USAGE };
    else throw new Error(`unknown argument ${arg}\n${USAGE}`);
  }
  return { ...options, profile: PROFILES[options.mode] };
}

function required(value, flag) {
  if (value === undefined || value.startsWith('--')) throw new Error(`${flag} needs a value\n${USAGE}`);
  return value;
}

function parseSections(text) {
  const sections = text.split(',').filter(Boolean);
  const unknown = sections.filter((s) => !SECTIONS.includes(s));
  if (unknown.length > 0 || sections.length === 0) throw new Error(`--sections: unknown ${unknown.join(', ') || '(none given)'}; choose from ${SECTIONS.join(', ')}`);
  return sections;
}

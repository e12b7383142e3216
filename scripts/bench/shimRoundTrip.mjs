// Section 1: what a runtime pays per CNI call. ADD then DEL of one container as whole
// processes: dist/berth against a running berthd, /usr/lib/cni/host-local on the same subnet,
// VERSION of both (start-up alone), and an empty script compiled as dist/berth is (the runtime's
// floor). Interleaved round by round.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_POOLS, startBerthd } from './berthdProcess.mjs';
import { fillHostLocalStore, hostLocalConfig } from './hostLocalStore.mjs';
import { fillLeaseDb, parseIpv4 } from './leaseDbFill.mjs';
import { HOST_LOCAL, SHIM } from './paths.mjs';
import { cniVars, measurePeakRssMb, peakRssProbe, pluginEnv, timedExec } from './pluginExec.mjs';
import { buildRuntimeFloor } from './runtimeFloor.mjs';
import { pairedRatio, summarize } from './stats.mjs';

const NETWORK = 'benchnet';
const SUBNET = BENCH_POOLS.shim.subnet;
export const HOST_LOCAL_INSTALL_HINT = 'host-local not found at /usr/lib/cni/host-local: install it with `apt-get install containernetworking-plugins` (Debian/Ubuntu) to get that column';

// The environment a CNI runtime passes: CNI_* and PATH, nothing of this shell's (such as NODE_EXTRA_CA_CERTS).
const RUNTIME_ENV = { withCaCerts: false, label: 'PATH and CNI_* only, as a CNI runtime passes' };

export async function benchShimRoundTrip({ workDir, templateDb, configPath, profile, log }) {
  const hostLocal = existsSync(HOST_LOCAL);
  if (!hostLocal) log(HOST_LOCAL_INSTALL_HINT);
  const daemons = [];
  try {
    const empty = await startShimDaemon(workDir, 'shim-empty', templateDb, configPath, 0);
    daemons.push(empty);
    const floor = buildRuntimeFloor(workDir);
    const peers = await measureAgainstPeers({ workDir, socket: empty.socketPath, hostLocal, floor, rounds: profile.shimRounds, log });
    const leaseScale = await measureLeaseScale({ workDir, templateDb, configPath, hostLocal, profile, daemons, emptySocket: empty.socketPath, log });
    const peakRss = await measurePeakRss({ workDir, socket: empty.socketPath, hostLocal, floor, runs: profile.rssRuns });
    return {
      hostLocal: { available: hostLocal, path: HOST_LOCAL, ...(hostLocal ? {} : { install: HOST_LOCAL_INSTALL_HINT }) },
      rounds: profile.shimRounds, environment: RUNTIME_ENV.label, executableBytes: statSync(SHIM).size, runtimeFloorBytes: statSync(floor).size,
      peers, leaseScale, peakRss,
    };
  } finally {
    await Promise.all(daemons.map((daemon) => daemon.stop()));
  }
}

async function startShimDaemon(workDir, name, templateDb, configPath, leases) {
  const dir = join(workDir, name);
  mkdirSync(dir, { recursive: true });
  const dbPath = join(dir, 'leases.db');
  fillLeaseDb(templateDb, dbPath, { pool: BENCH_POOLS.shim.name, family: 4, first: parseIpv4('172.20.0.2'), count: leases, step: 1n });
  return startBerthd({ dir, socketPath: join(dir, 'berthd.sock'), dbPath, configPath });
}

function berthConfig(socket) {
  return JSON.stringify({ cniVersion: '1.0.0', name: NETWORK, type: 'bridge', ipam: { type: 'berth', socket, pools: [BENCH_POOLS.shim.name] } });
}

/** One subject: ADD then DEL of a fresh container through `plugin`; returns both times and their sum. */
function addThenDel(pluginPath, config) {
  let sequence = 0;
  return async (tag) => {
    const containerId = `bench-${tag.replace(/[^\w.-]/g, '-')}-${sequence++}`;
    const add = await timedExec([pluginPath], pluginEnv(cniVars('ADD', containerId), RUNTIME_ENV), config);
    if (!/"ips"/.test(add.stdout)) throw new Error(`${pluginPath} ADD printed no ips: ${add.stdout}`);
    const del = await timedExec([pluginPath], pluginEnv(cniVars('DEL', containerId), RUNTIME_ENV), config);
    return { add: add.ms, del: del.ms, pair: add.ms + del.ms };
  };
}

/** VERSION answers without calling anyone: the plugin's start-up cost alone. */
function versionOnly(pluginPath, config) {
  return async () => ({ run: (await timedExec([pluginPath], pluginEnv({ CNI_COMMAND: 'VERSION', CNI_PATH: '/opt/cni/bin' }, RUNTIME_ENV), config)).ms });
}

function bareStart(path) {
  return async () => ({ run: (await timedExec([path], pluginEnv({}, RUNTIME_ENV))).ms });
}

/**
 * Runs every subject once per round, starting each round at a different subject so none always
 * goes first; the first `warmup` rounds fill caches and are dropped. Returns samples per subject and field.
 */
async function interleavedRounds(subjects, rounds, warmup = 2) {
  const samples = Object.fromEntries(subjects.map(({ key }) => [key, {}]));
  for (let round = 0; round < rounds + warmup; round++) {
    for (let i = 0; i < subjects.length; i++) {
      const { key, run } = subjects[(round + i) % subjects.length];
      const result = await run(key);
      if (round < warmup) continue;
      for (const [field, ms] of Object.entries(result)) (samples[key][field] ??= []).push(ms);
    }
  }
  return samples;
}

async function measureAgainstPeers({ workDir, socket, hostLocal, floor, rounds, log }) {
  const hostLocalJson = JSON.stringify(hostLocalConfig(NETWORK, SUBNET, join(workDir, 'host-local-peers')));
  const subjects = [
    { key: 'berth', run: addThenDel(SHIM, berthConfig(socket)) },
    { key: 'berthVersion', run: versionOnly(SHIM, berthConfig(socket)) },
    { key: 'floor', run: bareStart(floor) },
    ...(hostLocal ? [{ key: 'hostLocal', run: addThenDel(HOST_LOCAL, hostLocalJson) }, { key: 'hostLocalVersion', run: versionOnly(HOST_LOCAL, hostLocalJson) }] : []),
  ];
  log(`shim round trip: ${rounds} interleaved rounds of ${subjects.length} subjects`);
  const samples = await interleavedRounds(subjects, rounds);
  const berth = samples.berth;
  const peer = samples.hostLocal;
  return {
    berthAddMs: summarize(berth.add),
    berthDelMs: summarize(berth.del),
    berthPairMs: summarize(berth.pair),
    berthVersionMs: summarize(samples.berthVersion.run),
    runtimeFloorMs: summarize(samples.floor.run),
    hostLocalAddMs: peer ? summarize(peer.add) : null,
    hostLocalDelMs: peer ? summarize(peer.del) : null,
    hostLocalPairMs: peer ? summarize(peer.pair) : null,
    hostLocalVersionMs: peer ? summarize(samples.hostLocalVersion.run) : null,
    ratios: {
      berthPairVsHostLocal: peer ? pairedRatio(berth.pair, peer.pair) : null,
      berthAddVsHostLocal: peer ? pairedRatio(berth.add, peer.add) : null,
      berthDelVsHostLocal: peer ? pairedRatio(berth.del, peer.del) : null,
      berthVersionVsHostLocal: peer ? pairedRatio(samples.berthVersion.run, samples.hostLocalVersion.run) : null,
      berthVersionVsFloor: pairedRatio(samples.berthVersion.run, samples.floor.run),
    },
  };
}

/** ADD+DEL as the store grows: both plugins at each size, each against its own empty store, in the same rounds. */
async function measureLeaseScale({ workDir, templateDb, configPath, hostLocal, profile, daemons, emptySocket, log }) {
  const subjects = [{ key: 'berth:0', leases: 0, run: addThenDel(SHIM, berthConfig(emptySocket)) }];
  for (const leases of profile.shimLeases.filter((n) => n > 0)) {
    const daemon = await startShimDaemon(workDir, `shim-${leases}`, templateDb, configPath, leases);
    daemons.push(daemon);
    subjects.push({ key: `berth:${leases}`, leases, run: addThenDel(SHIM, berthConfig(daemon.socketPath)) });
  }
  if (hostLocal) {
    for (const leases of profile.shimLeases) {
      const dataDir = join(workDir, `host-local-scale-${leases}`);
      fillHostLocalStore(dataDir, NETWORK, { firstOctets: '172.20', count: leases });
      subjects.push({ key: `hostLocal:${leases}`, leases, run: addThenDel(HOST_LOCAL, JSON.stringify(hostLocalConfig(NETWORK, SUBNET, dataDir))) });
    }
  }
  log(`shim lease scale: ${profile.shimScaleRounds} interleaved rounds of ${subjects.length} subjects`);
  const samples = await interleavedRounds(subjects, profile.shimScaleRounds);
  const series = (plugin) => subjects.filter((s) => s.key.startsWith(`${plugin}:`)).map((s) => ({
    leases: s.leases, addMs: summarize(samples[s.key].add), delMs: summarize(samples[s.key].del), pairMs: summarize(samples[s.key].pair),
    addVsEmpty: pairedRatio(samples[s.key].add, samples[`${plugin}:0`].add),
    ...(plugin === 'berth' && hostLocal ? { pairVsHostLocal: pairedRatio(samples[s.key].pair, samples[`hostLocal:${s.leases}`].pair) } : {}),
  }));
  return { environment: RUNTIME_ENV.label, berth: series('berth'), hostLocal: hostLocal ? series('hostLocal') : null };
}

async function measurePeakRss({ workDir, socket, hostLocal, floor, runs }) {
  const probe = peakRssProbe();
  const samples = { berthAdd: [], berthDel: [], berthVersion: [], runtimeFloor: [], hostLocalAdd: [] };
  const hostLocalJson = JSON.stringify(hostLocalConfig(NETWORK, SUBNET, join(workDir, 'host-local-rss')));
  for (let i = 0; i < runs; i++) {
    const containerId = `rss-${i}`;
    samples.berthAdd.push(await measurePeakRssMb(probe, [SHIM], pluginEnv(cniVars('ADD', containerId), RUNTIME_ENV), berthConfig(socket)));
    samples.berthDel.push(await measurePeakRssMb(probe, [SHIM], pluginEnv(cniVars('DEL', containerId), RUNTIME_ENV), berthConfig(socket)));
    samples.berthVersion.push(await measurePeakRssMb(probe, [SHIM], pluginEnv({ CNI_COMMAND: 'VERSION' }, RUNTIME_ENV), berthConfig(socket)));
    samples.runtimeFloor.push(await measurePeakRssMb(probe, [floor], pluginEnv({}, RUNTIME_ENV)));
    if (hostLocal) {
      samples.hostLocalAdd.push(await measurePeakRssMb(probe, [HOST_LOCAL], pluginEnv(cniVars('ADD', containerId), RUNTIME_ENV), hostLocalJson));
      await timedExec([HOST_LOCAL], pluginEnv(cniVars('DEL', containerId), RUNTIME_ENV), hostLocalJson);
    }
  }
  return {
    method: probe?.method ?? 'unavailable (neither /usr/bin/time nor python3 found)',
    ...Object.fromEntries(Object.entries(samples).map(([key, values]) => [`${key}Mb`, values.length && values.every((v) => v !== null) ? summarize(values) : null])),
  };
}

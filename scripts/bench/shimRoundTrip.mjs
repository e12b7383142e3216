// Section 1: what a runtime pays per CNI call. ADD then DEL of one container as whole
// processes: dist/berth against a running berthd, /usr/lib/cni/host-local on the same subnet,
// and bare `node -e 0` (the floor of any Node executable). Interleaved round by round.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_POOLS, startBerthd } from './berthdProcess.mjs';
import { fillHostLocalStore, hostLocalConfig } from './hostLocalStore.mjs';
import { fillLeaseDb, parseIpv4 } from './leaseDbFill.mjs';
import { HOST_LOCAL, SHIM } from './paths.mjs';
import { cniVars, measurePeakRssMb, peakRssProbe, pluginEnv, timedExec } from './pluginExec.mjs';
import { pairedRatio, summarize } from './stats.mjs';

const NETWORK = 'benchnet';
const SUBNET = BENCH_POOLS.shim.subnet;
export const HOST_LOCAL_INSTALL_HINT = 'host-local not found at /usr/lib/cni/host-local: install it with `apt-get install containernetworking-plugins` (Debian/Ubuntu) to get that column';

const ENVIRONMENTS = [
  { key: 'withCaCerts', withCaCerts: true, label: `with NODE_EXTRA_CA_CERTS=${process.env.NODE_EXTRA_CA_CERTS ?? '(unset here)'} (this environment)` },
  { key: 'withoutCaCerts', withCaCerts: false, label: 'without NODE_EXTRA_CA_CERTS (env -u; what a CNI runtime normally passes)' },
];

export async function benchShimRoundTrip({ workDir, templateDb, configPath, profile, log }) {
  const hostLocal = existsSync(HOST_LOCAL);
  if (!hostLocal) log(HOST_LOCAL_INSTALL_HINT);
  const daemons = [];
  try {
    const empty = await startShimDaemon(workDir, 'shim-empty', templateDb, configPath, 0);
    daemons.push(empty);
    const environments = await measureAgainstPeers({ workDir, socket: empty.socketPath, hostLocal, rounds: profile.shimRounds, log });

    const leaseScale = await measureLeaseScale({ workDir, templateDb, configPath, hostLocal, profile, daemons, emptySocket: empty.socketPath, log });
    const peakRss = await measurePeakRss({ workDir, socket: empty.socketPath, hostLocal, runs: profile.rssRuns });
    return { hostLocal: { available: hostLocal, path: HOST_LOCAL, ...(hostLocal ? {} : { install: HOST_LOCAL_INSTALL_HINT }) }, rounds: profile.shimRounds, environments, leaseScale, peakRss };
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

/** One subject: ADD then DEL of a fresh container through `plugin`; returns both times. */
function addThenDel(pluginPath, config, envOptions) {
  let sequence = 0;
  return async (tag) => {
    const containerId = `bench-${tag.replace(/[^\w.-]/g, '-')}-${sequence++}`;
    const add = await timedExec([pluginPath], pluginEnv(cniVars('ADD', containerId), envOptions), config);
    if (!/"ips"/.test(add.stdout)) throw new Error(`${pluginPath} ADD printed no ips: ${add.stdout}`);
    const del = await timedExec([pluginPath], pluginEnv(cniVars('DEL', containerId), envOptions), config);
    return { add: add.ms, del: del.ms };
  };
}

/** VERSION answers without calling berthd: the plugin's start-up cost alone. */
function versionOnly(pluginPath, config, envOptions) {
  return async () => ({ run: (await timedExec([pluginPath], pluginEnv({ CNI_COMMAND: 'VERSION', CNI_PATH: '/opt/cni/bin' }, envOptions), config)).ms });
}

function nodeFloor(envOptions) {
  return async () => ({ run: (await timedExec([process.execPath, '-e', '0'], pluginEnv({}, envOptions))).ms });
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

async function measureAgainstPeers({ workDir, socket, hostLocal, rounds, log }) {
  const subjects = [];
  for (const env of ENVIRONMENTS) {
    subjects.push({ key: `berth:${env.key}`, run: addThenDel(SHIM, berthConfig(socket), env) });
    subjects.push({ key: `berthVersion:${env.key}`, run: versionOnly(SHIM, berthConfig(socket), env) });
    if (hostLocal) {
      const dataDir = join(workDir, `host-local-${env.key}`);
      subjects.push({ key: `hostLocal:${env.key}`, run: addThenDel(HOST_LOCAL, JSON.stringify(hostLocalConfig(NETWORK, SUBNET, dataDir)), env) });
    }
    subjects.push({ key: `node:${env.key}`, run: nodeFloor(env) });
  }
  log(`shim round trip: ${rounds} interleaved rounds of ${subjects.length} subjects`);
  const samples = await interleavedRounds(subjects, rounds);
  const result = {};
  for (const env of ENVIRONMENTS) {
    const berth = samples[`berth:${env.key}`];
    const peer = samples[`hostLocal:${env.key}`];
    const node = samples[`node:${env.key}`].run;
    result[env.key] = {
      environment: env.label,
      berthAddMs: summarize(berth.add),
      berthDelMs: summarize(berth.del),
      berthVersionMs: summarize(samples[`berthVersion:${env.key}`].run),
      hostLocalAddMs: peer ? summarize(peer.add) : null,
      hostLocalDelMs: peer ? summarize(peer.del) : null,
      nodeFloorMs: summarize(node),
      ratios: {
        berthAddVsNodeFloor: pairedRatio(berth.add, node),
        berthDelVsNodeFloor: pairedRatio(berth.del, node),
        berthVersionVsNodeFloor: pairedRatio(samples[`berthVersion:${env.key}`].run, node),
        berthAddVsHostLocal: peer ? pairedRatio(berth.add, peer.add) : null,
        berthDelVsHostLocal: peer ? pairedRatio(berth.del, peer.del) : null,
      },
    };
  }
  return result;
}

/** ADD latency as the store grows: host-local at each size, berth empty and at the largest berth size. */
async function measureLeaseScale({ workDir, templateDb, configPath, hostLocal, profile, daemons, emptySocket, log }) {
  const env = ENVIRONMENTS[1];
  const subjects = [{ key: 'berth:0', leases: 0, run: addThenDel(SHIM, berthConfig(emptySocket), env) }];
  for (const leases of profile.berthShimLeases.filter((n) => n > 0)) {
    const daemon = await startShimDaemon(workDir, `shim-${leases}`, templateDb, configPath, leases);
    daemons.push(daemon);
    subjects.push({ key: `berth:${leases}`, leases, run: addThenDel(SHIM, berthConfig(daemon.socketPath), env) });
  }
  if (hostLocal) {
    for (const leases of profile.hostLocalLeases) {
      const dataDir = join(workDir, `host-local-scale-${leases}`);
      fillHostLocalStore(dataDir, NETWORK, { firstOctets: '172.20', count: leases });
      subjects.push({ key: `hostLocal:${leases}`, leases, run: addThenDel(HOST_LOCAL, JSON.stringify(hostLocalConfig(NETWORK, SUBNET, dataDir)), env) });
    }
  }
  log(`shim lease scale: ${profile.shimScaleRounds} interleaved rounds of ${subjects.length} subjects`);
  const samples = await interleavedRounds(subjects, profile.shimScaleRounds);
  const series = (plugin) => subjects.filter((s) => s.key.startsWith(`${plugin}:`)).map((s) => ({
    leases: s.leases, addMs: summarize(samples[s.key].add), delMs: summarize(samples[s.key].del),
    addVsEmpty: pairedRatio(samples[s.key].add, samples[`${plugin}:0`].add),
  }));
  return { environment: env.label, berth: series('berth'), hostLocal: hostLocal ? series('hostLocal') : null };
}

async function measurePeakRss({ workDir, socket, hostLocal, runs }) {
  const probe = peakRssProbe();
  const result = { method: probe?.method ?? 'unavailable (neither /usr/bin/time nor python3 found)' };
  for (const env of ENVIRONMENTS) {
    const samples = { berthAdd: [], berthDel: [], hostLocalAdd: [], nodeFloor: [] };
    const hostLocalJson = JSON.stringify(hostLocalConfig(NETWORK, SUBNET, join(workDir, `host-local-rss-${env.key}`)));
    for (let i = 0; i < runs; i++) {
      const containerId = `rss-${env.key}-${i}`;
      samples.berthAdd.push(await measurePeakRssMb(probe, [SHIM], pluginEnv(cniVars('ADD', containerId), env), berthConfig(socket)));
      samples.berthDel.push(await measurePeakRssMb(probe, [SHIM], pluginEnv(cniVars('DEL', containerId), env), berthConfig(socket)));
      samples.nodeFloor.push(await measurePeakRssMb(probe, [process.execPath, '-e', '0'], pluginEnv({}, env)));
      if (hostLocal) {
        samples.hostLocalAdd.push(await measurePeakRssMb(probe, [HOST_LOCAL], pluginEnv(cniVars('ADD', containerId), env), hostLocalJson));
        await timedExec([HOST_LOCAL], pluginEnv(cniVars('DEL', containerId), env), hostLocalJson);
      }
    }
    result[env.key] = Object.fromEntries(Object.entries(samples).map(([key, values]) =>
      [`${key}Mb`, values.length && values.every((v) => v !== null) ? summarize(values) : null]));
  }
  return result;
}

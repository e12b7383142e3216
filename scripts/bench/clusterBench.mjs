// Section "cluster": cluster pools (etcd) measured through real processes. One etcd of its own
// (3 members on loopback: every write goes through a real quorum), then, in this order:
//   1. the 5,000-node claim storm, quiet claim latency and engine-level writes (clusterSimulation.mjs,
//      the protocol's own code), first, so its etcd DB size is the storm's and not the other steps';
//   2. cluster-mode ADD against file-mode ADD: two berthds, the cluster one already owning a block,
//      measured by the same load client in the same interleaved rounds;
//   3. etcd writes per ADD/DEL cycles of one real cluster-mode berthd, counted from etcd's revision
//      while it is the only writer;
//   4. ADD throughput across N berthd nodes (20 by default) loaded at once, all on the same etcd.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readProcCpuSeconds, startBerthd, stopProcess } from './berthdProcess.mjs';
import { benchClusterSimulation } from './clusterSimulation.mjs';
import { allocateRequest, connect, releaseRequest, servedBlocks, unary } from './clusterLoadClient.mjs';
import { startEtcdCluster } from './etcdMember.mjs';
import { runJsonScript, runLoadClient } from './loadRun.mjs';
import { histogramDelta, scrapeMetrics, secondsToMs } from './metricsScrape.mjs';
import { pairedRatio, round, summarize } from './stats.mjs';
import { summarizeRounds } from './daemonThroughput.mjs';


/** The pool every cluster node serves: /26 blocks (64 addresses) of a /12, as the issue sizes it. */
export const CLUSTER_POOL = { name: 'pods', subnet: '10.96.0.0/12', blockSize: 26 };
/**
 * The file-mode peer: the same name and a /26 of its own, so both daemons allocate from a range of
 * the same size with the same allocator settings; only where the range came from differs.
 */
const FILE_POOL = { name: 'pods', subnet: '10.250.0.0/26', gateway: '10.250.0.1' };

const CLUSTER_CONFIG = `clusterPools:\n  - name: ${CLUSTER_POOL.name}\n    subnet: "${CLUSTER_POOL.subnet}"\n    blockSize: ${CLUSTER_POOL.blockSize}\n    routes: [{ dst: "0.0.0.0/0" }]\n`;
const FILE_CONFIG = `pools:\n  - name: ${FILE_POOL.name}\n    subnet: "${FILE_POOL.subnet}"\n    gateway: "${FILE_POOL.gateway}"\n    routes: [{ dst: "0.0.0.0/0" }]\n`;

export async function benchCluster({ workDir, profile, log }) {
  const dir = join(workDir, 'cluster');
  mkdirSync(dir, { recursive: true });
  const clusterConfig = join(dir, 'cluster-pools.yaml');
  const fileConfig = join(dir, 'file-pools.yaml');
  writeFileSync(clusterConfig, CLUSTER_CONFIG);
  writeFileSync(fileConfig, FILE_CONFIG);
  log(`cluster: starting etcd, ${profile.clusterEtcdMembers} member(s)`);
  const etcd = await startEtcdCluster({ members: profile.clusterEtcdMembers, parentDir: dir });
  const node = (name, blockIdleSeconds = 0) => startClusterNode({ dir, name, etcd, configPath: clusterConfig, blockIdleSeconds });
  try {
    const simulation = await benchClusterSimulation({
      nodes: profile.simNodes, clients: profile.simClients, concurrency: profile.simConcurrency, subnet: profile.simSubnet,
      claims: profile.simClaims, cycles: profile.churnCycles, etcd, log,
    });
    const addVsFile = await compareAdd({ dir, fileConfig, node, profile, log });
    const churn = await measureChurn({ etcd, node, profile, log });
    const clusterWide = await clusterThroughput({ etcd, node, profile, log });
    return { etcd: `${etcd.members} member${etcd.members === 1 ? '' : 's'}, /usr/bin/etcd 3.4 on loopback, fsync on`, pool: CLUSTER_POOL, filePool: FILE_POOL, simulation, addVsFile, churn, clusterWide };
  } finally {
    await etcd.stop();
  }
}

/** A cluster-mode berthd with a database and socket of its own, ready once it serves a block. */
async function startClusterNode({ dir, name, etcd, configPath, blockIdleSeconds }) {
  const nodeDir = join(dir, name);
  mkdirSync(nodeDir, { recursive: true });
  const daemon = await startBerthd({
    dir: nodeDir, socketPath: join(nodeDir, 'berthd.sock'), dbPath: join(nodeDir, 'leases.db'), configPath,
    extraArgs: ['--node-name', name, '--etcd-endpoints', etcd.endpoints.join(','), '--etcd-timeout-ms', '5000', '--block-idle-seconds', String(blockIdleSeconds)],
  });
  try {
    const client = await connect(daemon.socketPath);
    const deadline = Date.now() + 120_000;
    // The first block is claimed in the background after start; "ready" is when it is served.
    while ((await servedBlocks(client, CLUSTER_POOL.name)).length === 0) {
      if (Date.now() > deadline) throw new Error(`${name} serves no block of ${CLUSTER_POOL.name} after 120 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { ...daemon, name, client, stop: async () => { client.close(); await daemon.stop(); } };
  } catch (error) {
    await daemon.stop();
    throw error;
  }
}

const counter = (metrics, name, match) => (metrics?.get(name) ?? [])
  .filter(({ labels }) => Object.entries(match).every(([key, value]) => labels[key] === value))
  .reduce((sum, { value }) => sum + value, 0);

/**
 * Cluster ADD vs file ADD with owned free blocks. At 16 in flight at most 16 of the block's
 * addresses are taken, so free stays above the claim-ahead mark (a quarter of the block, 16):
 * no claim runs during the rounds, which the claims counter before and after proves.
 */
async function compareAdd({ dir, fileConfig, node, profile, log }) {
  const fileDir = join(dir, 'file-node');
  mkdirSync(fileDir, { recursive: true });
  const file = await startBerthd({ dir: fileDir, socketPath: join(fileDir, 'berthd.sock'), dbPath: join(fileDir, 'leases.db'), configPath: fileConfig });
  const cluster = await node('add-node').catch(async (error) => { await file.stop(); throw error; });
  try {
    const blocksBefore = await servedBlocks(cluster.client, CLUSTER_POOL.name);
    const claimsBefore = await scrapeMetrics(cluster.metricsUrl);
    const levels = [];
    for (const concurrency of profile.clusterAddConcurrency) {
      log(`cluster: ADD, cluster node vs file node, ${concurrency} in flight, ${profile.clusterAddRounds} rounds of ${profile.clusterAddRoundMs} ms each`);
      const before = { file: await scrapeMetrics(file.metricsUrl), cluster: await scrapeMetrics(cluster.metricsUrl) };
      const cpuBefore = { file: readProcCpuSeconds(file.child.pid), cluster: readProcCpuSeconds(cluster.child.pid) };
      const rounds = await runLoadClient({
        targets: [{ name: 'file', socket: file.socketPath }, { name: 'cluster', socket: cluster.socketPath }],
        concurrency, rounds: profile.clusterAddRounds, roundMs: profile.clusterAddRoundMs, warmupMs: profile.clusterAddWarmupMs, pool: CLUSTER_POOL.name,
      });
      const after = { file: await scrapeMetrics(file.metricsUrl), cluster: await scrapeMetrics(cluster.metricsUrl) };
      const inside = (side) => secondsToMs(histogramDelta(before[side], after[side], 'berth_rpc_duration_seconds', { method: 'Allocate' }));
      // Warm-up pairs are in the CPU too; they are few beside the rounds' (warm-up is shorter).
      const cpuPerPairUs = (side) => round(((readProcCpuSeconds((side === 'file' ? file : cluster).child.pid) - cpuBefore[side]) * 1e6) / rounds[side].reduce((sum, r) => sum + r.pairs, 0), 0);
      const cpu = { file: cpuPerPairUs('file'), cluster: cpuPerPairUs('cluster') };
      levels.push({
        concurrency, file: summarizeRounds(rounds.file), cluster: summarizeRounds(rounds.cluster),
        ratios: {
          allocateP50: pairedRatio(rounds.cluster.map((r) => r.allocateMs.p50), rounds.file.map((r) => r.allocateMs.p50)),
          allocateP99: pairedRatio(rounds.cluster.map((r) => r.allocateMs.p99), rounds.file.map((r) => r.allocateMs.p99)),
          callsPerSec: pairedRatio(rounds.cluster.map((r) => r.callsPerSec), rounds.file.map((r) => r.callsPerSec)),
        },
        insideDaemon: { file: inside('file'), cluster: inside('cluster') },
        cpuPerPairUs: { ...cpu, ratio: cpu.file > 0 ? round(cpu.cluster / cpu.file) : null },
      });
    }
    log(`cluster: ADD, cluster node and file node alternating call by call, ${profile.clusterAddRounds} rounds of ${profile.clusterAddRoundMs} ms`);
    const cpuBefore = { file: readProcCpuSeconds(file.child.pid), cluster: readProcCpuSeconds(cluster.child.pid) };
    const alternating = (await runClusterLoad({ mode: 'alternate', sockets: [file.socketPath, cluster.socketPath], rounds: profile.clusterAddRounds, roundMs: profile.clusterAddRoundMs, warmupMs: profile.clusterAddWarmupMs, pool: CLUSTER_POOL.name })).rounds;
    const pairs = (side) => alternating.reduce((sum, r) => sum + r[side].pairs, 0);
    const cpu = { file: round(((readProcCpuSeconds(file.child.pid) - cpuBefore.file) * 1e6) / pairs(0), 0), cluster: round(((readProcCpuSeconds(cluster.child.pid) - cpuBefore.cluster) * 1e6) / pairs(1), 0) };
    const byCall = {
      rounds: alternating.length, cpuPerPairUs: { ...cpu, ratio: cpu.file > 0 ? round(cpu.cluster / cpu.file) : null },
      file: { allocateP50Ms: summarize(alternating.map(([f]) => f.allocateMs.p50)), allocateP99Ms: summarize(alternating.map(([f]) => f.allocateMs.p99)) },
      cluster: { allocateP50Ms: summarize(alternating.map(([, c]) => c.allocateMs.p50)), allocateP99Ms: summarize(alternating.map(([, c]) => c.allocateMs.p99)) },
      ratios: {
        allocateP50: pairedRatio(alternating.map(([, c]) => c.allocateMs.p50), alternating.map(([f]) => f.allocateMs.p50)),
        allocateP99: pairedRatio(alternating.map(([, c]) => c.allocateMs.p99), alternating.map(([f]) => f.allocateMs.p99)),
      },
    };
    const claimsAfter = await scrapeMetrics(cluster.metricsUrl);
    const claims = (metrics) => counter(metrics, 'berth_cluster_claims_total', {});
    return {
      rounds: profile.clusterAddRounds, roundMs: profile.clusterAddRoundMs, levels, byCall,
      ownedBlocksBefore: blocksBefore.length, ownedBlocksAfter: (await servedBlocks(cluster.client, CLUSTER_POOL.name)).length,
      claimsDuringRounds: claims(claimsAfter) - claims(claimsBefore),
    };
  } finally {
    await Promise.all([file.stop(), cluster.stop()]);
  }
}

/**
 * `items` through `fn` with `width` in flight. After a failure no new item starts, but the ones in
 * flight finish first, so whatever they started is known to the caller's cleanup.
 */
async function inParallel(items, width, fn) {
  let next = 0;
  const failures = [];
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length && failures.length === 0) {
      try {
        await fn(items[next++]);
      } catch (error) {
        failures.push(error);
      }
    }
  }));
  if (failures.length > 0) throw failures[0];
}

/**
 * etcd writes per ADD/DEL cycles of one real berthd (the only writer meanwhile), counted as the
 * growth of etcd's revision: one per writing transaction. Blocks are given back after 1 s idle,
 * so a burst's blocks are claimed and released within the count. Usage reports are time-bound
 * (at most one per 10 s), so each pattern's wall time is kept beside its count.
 */
async function measureChurn({ etcd, node, profile, log }) {
  const churn = await node('churn-node', 1);
  const pool = CLUSTER_POOL.name;
  const settle = async () => {
    const deadline = Date.now() + 60_000;
    // The idle-release tick gives back all but one block; wait for it, then for the last usage write.
    while ((await servedBlocks(churn.client, pool)).length > 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    await new Promise((resolve) => setTimeout(resolve, profile.churnSettleMs));
  };
  const measure = async (label, run) => {
    await settle();
    const [revision, metrics, started] = [await etcd.revision(), await scrapeMetrics(churn.metricsUrl), Date.now()];
    await run();
    const busySeconds = (Date.now() - started) / 1000;
    await settle();
    const [revisionAfter, metricsAfter] = [await etcd.revision(), await scrapeMetrics(churn.metricsUrl)];
    const delta = (name, result) => counter(metricsAfter, name, { result }) - counter(metrics, name, { result });
    const writes = revisionAfter - revision;
    const claims = delta('berth_cluster_claims_total', 'claimed');
    const releases = delta('berth_cluster_block_releases_total', 'released');
    return { pattern: label, cycles: profile.churnCycles, busySeconds: round(busySeconds, 1), etcdWrites: writes, claims, releases, otherWrites: writes - claims - releases };
  };
  try {
    const ids = Array.from({ length: profile.churnCycles }, (_, i) => `churn-${i}`);
    log(`cluster: etcd writes per ${profile.churnCycles} ADD/DEL cycles (burst, then 30 steady pods)`);
    const burst = await measure('burst', async () => {
      await inParallel(ids, 8, (id) => unary(churn.client, 'Allocate', allocateRequest(id, pool)));
      await inParallel(ids, 8, (id) => unary(churn.client, 'Release', releaseRequest(id, pool)));
    });
    const steadyIds = Array.from({ length: 30 }, (_, i) => `steady-${i}`);
    for (const id of steadyIds) await unary(churn.client, 'Allocate', allocateRequest(id, pool));
    const steady = await measure('steady30', async () => {
      for (let i = 0; i < profile.churnCycles; i++) {
        const slot = (i * 7) % steadyIds.length;
        await unary(churn.client, 'Release', releaseRequest(steadyIds[slot], pool));
        steadyIds[slot] = `steady-${slot}-${i}`;
        await unary(churn.client, 'Allocate', allocateRequest(steadyIds[slot], pool));
      }
    });
    for (const id of steadyIds) await unary(churn.client, 'Release', releaseRequest(id, pool));
    return { method: 'growth of etcd\'s revision (one per writing transaction) while this berthd was the only writer; claims and releases from its berth_cluster_* counters; the rest are usage reports and liveness', patterns: [burst, steady] };
  } finally {
    await churn.stop();
  }
}

/** Runs clusterLoadClient.mjs as its own process against every node at once. */
function runClusterLoad(spec) {
  return runJsonScript('clusterLoadClient.mjs', spec, 'cluster load client');
}

/**
 * N nodes started a few at a time (each claims its first block at start), then loaded together
 * by one client process with `perNode` calls in flight on each. Afterwards every node's served
 * blocks are gathered: a block served by two nodes would be a duplicate owner.
 */
async function clusterThroughput({ etcd, node, profile, log }) {
  const count = profile.clusterNodes;
  log(`cluster: starting ${count} berthd nodes on the same etcd`);
  const nodes = [];
  const keysBefore = await etcd.countKeys('/berth/');
  const dbBefore = await etcd.dbSize();
  const started = Date.now();
  try {
    await inParallel(Array.from({ length: count }, (_, i) => `node-${String(i).padStart(2, '0')}`), 4, async (name) => { nodes.push(await node(name)); });
    const startSeconds = (Date.now() - started) / 1000;
    // What N real nodes add to etcd: their block, usage and liveness keys (DB growth is revisions too).
    const keysAdded = (await etcd.countKeys('/berth/')) - keysBefore;
    const rounds = [];
    const single = [];
    // Each round also loads node-00 alone with the same calls in flight, in alternating order: on
    // one machine the cluster-wide figure is only meaningful against that reference. More calls in
    // flight than a block holds: node-00 claims a second block in the first round's warm-up.
    const spec = { roundMs: profile.clusterWideRoundMs, pool: CLUSTER_POOL.name };
    for (let r = 0; r < profile.clusterWideRounds; r++) {
      log(`cluster: ADD+DEL on all ${count} nodes at once (${profile.clusterPerNode} in flight on each), then on one alone; round ${r + 1} of ${profile.clusterWideRounds}`);
      const warmupMs = r === 0 ? profile.clusterAddWarmupMs : 0;
      const all = () => runClusterLoad({ ...spec, sockets: nodes.map((n) => n.socketPath), perNode: profile.clusterPerNode, warmupMs });
      const one = () => runClusterLoad({ ...spec, sockets: [nodes[0].socketPath], perNode: count * profile.clusterPerNode, warmupMs });
      if (r % 2 === 0) {
        rounds.push(await all());
        single.push(await one());
      } else {
        single.push(await one());
        rounds.push(await all());
      }
    }
    const served = await Promise.all(nodes.map((n) => servedBlocks(n.client, CLUSTER_POOL.name)));
    const all = served.flat();
    const memory = nodes.map((n) => n.memory().rssMb);
    return {
      nodes: count, perNode: profile.clusterPerNode, inFlight: count * profile.clusterPerNode, rounds: rounds.length, roundMs: profile.clusterWideRoundMs,
      startSeconds: round(startSeconds, 1),
      callsPerSec: summarize(rounds.map((r) => r.callsPerSec)), callP50Ms: summarize(rounds.map((r) => r.callMs.p50)), callP99Ms: summarize(rounds.map((r) => r.callMs.p99)),
      allocateP50Ms: summarize(rounds.map((r) => r.allocateMs.p50)), allocateP99Ms: summarize(rounds.map((r) => r.allocateMs.p99)),
      perNodeCallsPerSec: { min: Math.min(...rounds.map((r) => r.perNodeCallsPerSec.min)), max: Math.max(...rounds.map((r) => r.perNodeCallsPerSec.max)) },
      oneNode: { callsPerSec: summarize(single.map((r) => r.callsPerSec)), callP50Ms: summarize(single.map((r) => r.callMs.p50)), callP99Ms: summarize(single.map((r) => r.callMs.p99)) },
      callsPerSecVsOneNode: pairedRatio(rounds.map((r) => r.callsPerSec), single.map((r) => r.callsPerSec)),
      errors: rounds.reduce((sum, r) => sum + r.errors, 0), firstError: rounds.find((r) => r.firstError)?.firstError ?? null,
      nodesServing: served.filter((blocks) => blocks.length > 0).length, blocksServed: all.length, duplicateBlocks: all.length - new Set(all).size,
      rssMb: { median: summarize(memory).median, total: round(memory.reduce((a, b) => a + b, 0), 0) },
      keysAdded, keysPerNode: round(keysAdded / count, 2), dbBytesBefore: dbBefore.total, dbBytesAfter: (await etcd.dbSize()).total,
    };
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

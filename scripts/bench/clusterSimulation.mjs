#!/usr/bin/env node
// Cluster pool engine bench, against a real etcd (one member started here when run alone; the
// bench's cluster section, clusterBench.mjs, passes its 3-member etcd instead):
//  1. N simulated nodes (default 5,000) start together and each claim a block through the same
//     BlockClaimer code berthd uses: time to converge, lost races, keys and etcd DB size.
//  2. Block claim latency p50/p99 on a quiet etcd (one claim at a time).
//  3. etcd writes the engine makes per 1,000 pod ADD/DEL cycles at /26: a node model hands out
//     addresses from its blocks, claims ahead when free addresses run low, releases empty blocks
//     (keeping one) and reports usage every 10 s of simulated time; a counting store counts writes.
// Standalone: `node scripts/bench/clusterSimulation.mjs [--nodes 5000] [--clients 50] [--subnet 10.0.0.0/12] [--json]`.
import { build } from 'esbuild';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DIST, REPO_ROOT } from './paths.mjs';
import { startEtcdMember } from './etcdMember.mjs';

/** Bundles daemon/src/cluster (the protocol code itself) so plain Node can run it. */
async function loadEngine() {
  const outfile = join(DIST, 'cluster-engine.mjs');
  await build({ entryPoints: [join(REPO_ROOT, 'daemon/src/cluster/index.ts')], outfile, bundle: true, platform: 'node', target: 'node20', format: 'esm', packages: 'external', logLevel: 'warning' });
  return import(pathToFileURL(outfile).href);
}

/** Counts every write the engine sends to the store. */
class CountingStore {
  constructor(inner) { this.inner = inner; this.writes = 0; }
  create(k, v) { this.writes++; return this.inner.create(k, v); }
  compareAndSwap(k, v, r) { this.writes++; return this.inner.compareAndSwap(k, v, r); }
  compareAndDelete(k, r) { this.writes++; return this.inner.compareAndDelete(k, r); }
  get(k) { return this.inner.get(k); }
  list(p) { return this.inner.list(p); }
  listKeys(p) { return this.inner.listKeys(p); }
  watch(p, l) { return this.inner.watch(p, l); }
  keepAlive(k, v, t) { this.writes++; return this.inner.keepAlive(k, v, t); }
  close() { return this.inner.close(); }
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** The storm's keys live under their own prefix, so its key count is its own in a shared etcd. */
const SIM_PREFIX = '/berth-sim';

async function startStorm(engine, etcd, { nodes, clients, subnet, concurrency }) {
  const stores = Array.from({ length: clients }, () => new engine.EtcdClaimStore({ endpoints: etcd.endpoints, deadlineMs: 10_000 }));
  const pool = { name: 'sim', subnet, blockSize: 26, exclude: [] };
  await new engine.ClusterPoolRegistry(stores[0], 'sim-node-0', SIM_PREFIX).ensure(pool);
  const claimers = Array.from({ length: nodes }, (_, i) => new engine.BlockClaimer({ store: stores[i % clients], node: `sim-node-${i}`, prefix: SIM_PREFIX }));
  const latencies = [];
  const started = performance.now();
  // Every node starts at once; one Node process on a small machine keeps `concurrency` claims in
  // flight (real nodes are separate processes), so a claim's latency is its own, not the queue's.
  const results = new Array(nodes);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, nodes) }, async () => {
    while (next < nodes) {
      const i = next++;
      const t = performance.now();
      try {
        results[i] = { status: 'fulfilled', value: await claimers[i].claimBlock(pool) };
        latencies.push(performance.now() - t);
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  }));
  const convergeMs = performance.now() - started;
  const failed = results.filter((r) => r.status === 'rejected');
  const owned = results.filter((r) => r.status === 'fulfilled').map((r) => r.value.cidr);
  const firstFailures = [...new Set(failed.map((f) => f.reason.message))].slice(0, 3);
  const stats = claimers.reduce((sum, c) => ({ conflicts: sum.conflicts + c.stats.conflicts, lists: sum.lists + c.stats.lists, claims: sum.claims + c.stats.claims }), { conflicts: 0, lists: 0, claims: 0 });
  // A node whose claim failed (its reply and read-back lost under load) claims again: it gets the
  // block its lost claim committed, or a new one. Orphans: blocks in etcd no node was told it owns.
  for (let i = 0; i < nodes; i++) {
    if (results[i].status === 'rejected') {
      try { results[i] = { status: 'fulfilled', value: await claimers[i].claimBlock(pool) }; } catch { /* counted below */ }
    }
  }
  const retried = failed.length - results.filter((r) => r.status === 'rejected').length;
  // Each node then reports its usage once, as a started node does.
  let usageFailures = 0;
  next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, nodes) }, async () => {
    while (next < nodes) {
      const i = next++;
      const presence = new engine.NodePresence({ store: stores[i % clients], node: claimers[i].node, usageIntervalMs: 1e9, prefix: SIM_PREFIX });
      const cidr = results[i].status === 'fulfilled' ? results[i].value.cidr : undefined;
      presence.reportUsage(cidr ? [{ pool: 'sim', cidr, used: 0, free: 64 }] : []);
      await presence.flush().catch(() => { usageFailures++; });
      await presence.stop();
    }
  }));
  const keys = (await stores[0].list(`${SIM_PREFIX}/`)).length;
  const { blocks } = await claimers[0].listBlocks('sim');
  const duplicates = blocks.length - new Set(blocks.map((b) => b.cidr)).size;
  const told = new Set(results.filter((r) => r.status === 'fulfilled').map((r) => r.value.cidr));
  const orphans = blocks.filter((b) => !told.has(b.cidr)).length;
  latencies.sort((a, b) => a - b);
  const db = await etcd.dbSize();
  await Promise.all(stores.map((s) => s.close()));
  return {
    nodes, clients, concurrency, subnet, blockSize: 26, blocksInPool: 2 ** (26 - Number(subnet.split('/')[1])),
    convergeMs: Math.round(convergeMs), claimed: owned.length, failed: failed.length, failures: firstFailures, claimedOnRetry: retried, orphanBlocks: orphans, usageFailures,
    lostRaces: stats.conflicts, listings: stats.lists, blocksInEtcd: blocks.length, duplicateBlocks: duplicates,
    stormClaimMs: { p50: Math.round(percentile(latencies, 50)), p99: Math.round(percentile(latencies, 99)) },
    keys, dbBytes: db.total, dbInUseBytes: db.inUse,
  };
}

async function quietClaims(engine, etcd, count) {
  const store = new engine.EtcdClaimStore({ endpoints: etcd.endpoints });
  const claimer = new engine.BlockClaimer({ store, node: 'latency-node' });
  const pool = { name: 'latency', subnet: '10.200.0.0/16', blockSize: 26, exclude: [] };
  const latencies = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await claimer.claimBlock(pool);
    latencies.push(performance.now() - t);
  }
  await store.close();
  latencies.sort((a, b) => a - b);
  return { claims: count, p50Ms: +percentile(latencies, 50).toFixed(2), p99Ms: +percentile(latencies, 99).toFixed(2) };
}

/**
 * One node's pods at /26 (64 addresses a block). `pattern` gives the operations; simulated time
 * advances `msPerOp` per ADD or DEL, and usage is flushed at every 10 s boundary.
 */
async function writesPerCycles(engine, etcd, { pattern, cycles, msPerOp, claimAheadBelow = 8, label }) {
  const store = new CountingStore(new engine.EtcdClaimStore({ endpoints: etcd.endpoints }));
  const node = `churn-${label}`;
  const claimer = new engine.BlockClaimer({ store, node });
  const presence = new engine.NodePresence({ store, node, usageIntervalMs: 1e9 });
  const pool = { name: `churn-${label}`, subnet: '10.100.0.0/16', blockSize: 26, exclude: [] };
  const blocks = []; // { block, used }
  const pods = []; // index into blocks
  let simulatedMs = 0;
  let nextFlush = 10_000;
  let claims = 0, releases = 0, usageWrites = 0;
  const free = () => blocks.reduce((sum, b) => sum + 64 - b.used, 0);
  const report = () => presence.reportUsage(blocks.map((b) => ({ pool: pool.name, cidr: b.block.cidr, used: b.used, free: 64 - b.used })));
  const claim = async () => { blocks.push({ block: await claimer.claimBlock(pool), used: 0 }); claims++; };
  await claim();
  let random = 12345;
  const nextRandom = (n) => { random = (random * 1103515245 + 12345) % 2 ** 31; return random % n; };
  for (const op of pattern) {
    if (op === 'add') {
      if (free() === 0) await claim();
      const target = blocks.find((b) => b.used < 64);
      target.used++;
      pods.push(target);
      // Claim ahead in the background (here: in line) so an ADD rarely waits on etcd.
      if (free() < claimAheadBelow) await claim();
    } else {
      const [target] = pods.splice(nextRandom(pods.length), 1);
      target.used--;
      // Release an empty block, keeping at least one per pool (idle time not modelled: worst case).
      if (target.used === 0 && blocks.length > 1 && free() - 64 >= claimAheadBelow) {
        await claimer.releaseBlock(target.block);
        blocks.splice(blocks.indexOf(target), 1);
        releases++;
      }
    }
    report();
    simulatedMs += msPerOp;
    if (simulatedMs >= nextFlush) {
      const before = store.writes;
      await presence.flush();
      usageWrites += store.writes - before;
      nextFlush += 10_000;
    }
  }
  const before = store.writes;
  await presence.flush();
  usageWrites += store.writes - before;
  await presence.stop();
  await store.close();
  return { pattern: label, cycles, podsPerSecond: 1000 / msPerOp, claims, releases, usageWrites, etcdWrites: store.writes };
}

/**
 * The storm, quiet claim latency and engine-level writes per ADD/DEL cycles. On `etcd` when given
 * (the bench section's cluster, left running), else on a single member of its own.
 */
export async function benchClusterSimulation({ nodes = 5000, clients = 50, concurrency = 200, subnet = '10.0.0.0/12', claims = 200, cycles = 1000, etcd: shared, log = () => {} } = {}) {
  const engine = await loadEngine();
  const etcd = shared ?? await startEtcdMember();
  try {
    log(`cluster: ${nodes} nodes claiming on ${subnet} /26 through ${clients} etcd clients, ${concurrency} claims in flight`);
    const storm = await startStorm(engine, etcd, { nodes, clients, subnet, concurrency });
    log('cluster: quiet claim latency');
    const latency = await quietClaims(engine, etcd, claims);
    log(`cluster: etcd writes per ${cycles} ADD/DEL cycles (engine, simulated time)`);
    const burst = [...Array(cycles).fill('add'), ...Array(cycles).fill('del')];
    const steady = [...Array(30).fill('add'), ...Array.from({ length: cycles }, () => ['del', 'add']).flat(), ...Array(30).fill('del')];
    const writes = [
      await writesPerCycles(engine, etcd, { pattern: burst, cycles, msPerOp: 50, label: 'burst' }),
      await writesPerCycles(engine, etcd, { pattern: steady, cycles, msPerOp: 50, label: 'steady30' }),
    ];
    const members = etcd.members ?? 1;
    return { etcd: `${members === 1 ? 'single member' : `${members} members`}, /usr/bin/etcd, fsync on`, loadAverage: loadavg().map((l) => +l.toFixed(1)), storm, claimLatency: latency, writes };
  } finally {
    if (!shared) await etcd.stop();
  }
}

function renderText(r) {
  const s = r.storm;
  return [
    `Cluster simulation (${r.etcd}; load average at the end ${r.loadAverage.join(' ')})`,
    `  ${s.nodes} nodes start together on ${s.subnet} in /26 (${s.blocksInPool} blocks), ${s.clients} etcd clients, ${s.concurrency} claims in flight:`,
    `    converged in ${(s.convergeMs / 1000).toFixed(1)} s; ${s.claimed} claimed, ${s.failed} failed; lost races ${s.lostRaces}; pool listings ${s.listings}`,
    `    blocks in etcd ${s.blocksInEtcd}, duplicate owners ${s.duplicateBlocks}; keys under /berth-sim ${s.keys}; etcd DB ${(s.dbBytes / 2 ** 20).toFixed(1)} MiB (${(s.dbInUseBytes / 2 ** 20).toFixed(1)} MiB in use)`,
    ...(s.failed > 0 ? [`    failures: ${s.failures.join(' | ')}; ${s.claimedOnRetry} of them claimed on the node's next attempt`] : []),
    `    blocks in etcd that no node was told it owns (orphans): ${s.orphanBlocks}; usage writes that failed: ${s.usageFailures}`,
    `    claim latency during the storm p50 ${s.stormClaimMs.p50} ms, p99 ${s.stormClaimMs.p99} ms`,
    `  block claim on a quiet etcd (${r.claimLatency.claims} claims): p50 ${r.claimLatency.p50Ms} ms, p99 ${r.claimLatency.p99Ms} ms`,
    '  etcd writes by the engine per 1,000 pod ADD/DEL cycles at /26 (usage reported every 10 s of simulated time;',
    '  burst: 1,000 ADDs then 1,000 DELs; steady30: 30 pods, then 1,000 DEL+ADD):',
    ...r.writes.map((w) => `    ${w.pattern.padEnd(9)} ${w.cycles} cycles at ${w.podsPerSecond} ops/s: ${w.etcdWrites} writes (${w.claims} claims, ${w.releases} releases, ${w.usageWrites} usage reports)`),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const option = (name, fallback) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : fallback; };
  const result = await benchClusterSimulation({
    nodes: Number(option('nodes', 5000)), clients: Number(option('clients', 50)), concurrency: Number(option('concurrency', 200)), subnet: option('subnet', '10.0.0.0/12'),
    log: (m) => process.stderr.write(`bench: ${m}\n`),
  });
  process.stdout.write(args.includes('--json') ? `${JSON.stringify(result, null, 2)}\n` : `${renderText(result)}\n`);
}
